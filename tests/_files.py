"""Rewriting model files in tests, as an older writer would have left them."""

import xarray as xr

import seqlstm.io


def write_back(out, variables, attrs, source):
    """Write `variables` and `attrs` read by ``seqlstm.io.read_netcdf`` from the model file
    `source` (and edited as an older writer would have left them) to the model file `out`,
    each variable with its dims in `source`.

    Parameters
    ----------
    out : path
        The file written (may be `source` itself).
    variables : dict of str -> ndarray
        Variables of `source` (some may have been removed or changed).
    attrs : dict
        Global attributes.
    source : path
        The file the variables were read from, for their dims.
    """
    with xr.open_dataset(source, engine="scipy", mask_and_scale=False, decode_times=False,
                         cache=False) as ds:
        dims = {name: ds[name].dims for name in ds.variables}
    seqlstm.io.write_netcdf(out, {k: (dims[k], v) for k, v in variables.items()}, attrs)
