"""A network's configuration as plain values, and a network rebuilt from it."""

from __future__ import annotations

from .core import RecurrentNetwork

__all__ = ["network_config", "build_network"]


def network_config(network):
    """The constructor arguments of `network`, as a dict of plain Python values
    (:meth:`RecurrentNetwork.config <seqlstm.network.RecurrentNetwork.config>`)."""
    return network.config()


def build_network(config, params=None):
    """Rebuild a network from :func:`network_config` and optionally its flat parameters
    (:meth:`RecurrentNetwork.from_config <seqlstm.network.RecurrentNetwork.from_config>`).

    Parameters
    ----------
    config : dict
    params : ndarray of shape (n_params,), optional

    Returns
    -------
    RecurrentNetwork
    """
    return RecurrentNetwork.from_config(config, params)
