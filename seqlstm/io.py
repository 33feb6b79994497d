"""Model files: fitted estimators saved as plain netCDF, loaded without pickle.

A model file is a netCDF3 file (written with xarray's scipy backend, no extra dependency) that
any netCDF tool can open:

- every network parameter is a variable named like PyTorch's (``weight_ih_l0``,
  ``head_weight``...), in the compute dtype;
- scaling statistics (``x_mean``, ``x_scale``, ``y_mean``, ``y_scale``), ``classes``,
  ``feature_names_in``, ``output_names``, ``loss_curve``, ``learning_rate_curve``,
  ``validation_scores`` and ``validation_loss_curve`` are variables;
- the format version, the estimator's class, each hyperparameter (``hp_<name>``, as JSON text),
  the network configuration (``net_<name>``), scalar fitted attributes and a SHA-256 checksum of
  the numeric variables are global attributes.

A :class:`~seqlstm.SeedEnsemble` is one file too: its settings, the wrapped estimator's class
(``template_estimator``) and hyperparameters (``template_hp_<name>``), and every member's
variables, dims and attributes as above, prefixed ``m<k>_``; one checksum covers them all.

A hyperparameter missing from a file (one written before the parameter existed) takes its
default, so older files keep loading.

Loading reads numbers and strings only (never unpickles) and checks the format version and the
checksum, so a truncated, corrupted or foreign file gives a clear ``ValueError``.  Writing goes
to a temporary file in the destination's directory, then ``os.replace``: a failure never leaves a
half-written model file behind.

The estimators are read and rebuilt only through their own ``_to_state()`` and
``_from_state()``; a class is found by its public name in :mod:`seqlstm`, so this module imports
no estimator module.  :func:`write_netcdf` and :func:`read_netcdf` are the netCDF bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

import numpy as np
import xarray as xr

from .network import RecurrentNetwork

__all__ = ["save", "load", "FORMAT_VERSION", "write_netcdf", "read_netcdf"]

#: Version of the file layout written by :func:`save`.
FORMAT_VERSION = 1
_MAGIC = "seqlstm_format_version"
_NET_KEYS = ("input_size", "hidden_size", "num_layers", "cell", "bidirectional",
             "output_size", "dtype", "readout")


#: Hyperparameters added after files were first written, with the value that reproduces how a
#: model in an older file was trained and read its input (a constant learning rate, a random
#: validation split, the final state read, every step read: frames came later; no chrono
#: initialisation: "auto" came later; 2-D X as (n_samples, n_features); a forecaster's season
#: length inferred: such files hold an integer lookback, which needs no season; no start padding,
#: so no padding input).  A fit of such
#: a model (``clone``, ``warm_start=False``) starts from the initialisation it was trained with,
#: whatever today's defaults are.
_LATER_PARAMS = {"learning_rate": "constant", "warmup": 0, "plateau_patience": 5,
                 "plateau_factor": 0.5, "validation_split": "random", "spinup": 0,
                 "readout": "last", "frame_stride": 1, "chrono_t_max": None,
                 "input_2d": "features", "season_length": None,
                 "start_padding": False, "scaling": "global", "decoder": "per_step"}


def _floats(values):
    return None if values is None else [float(v) for v in values]


def _estimator_class(name):
    """The class a model file names: a public seqlstm class with ``_from_state``, or None."""
    import seqlstm

    if name not in seqlstm.__all__:
        return None
    cls = getattr(seqlstm, name)
    return cls if isinstance(cls, type) and hasattr(cls, "_from_state") else None


def _estimator_names():
    import seqlstm

    return sorted(name for name in seqlstm.__all__ if _estimator_class(name) is not None)


def _checksum(variables):
    """SHA-256 over every numeric variable (name, dtype, shape and values), in name order."""
    digest = hashlib.sha256()
    for name in sorted(variables):
        values = np.asarray(variables[name])
        if values.dtype.kind not in "fiub":
            continue
        values = values.astype(values.dtype.newbyteorder("<"))
        digest.update(f"{name}|{values.dtype.str}|{values.shape}|".encode())
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def _json_param(name, value):
    if name == "random_state" and not isinstance(value, (int, np.integer, type(None))):
        value = None  # a RandomState instance cannot be stored; the weights are what matter
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, tuple):
        value = [v.item() if isinstance(v, np.generic) else v for v in value]
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, np.floating):
        value = float(value)
    return json.dumps(value)


def _strings(values):
    return np.asarray([str(v) for v in values], dtype=str)


def save(estimator, path):
    """Save a fitted seqlstm estimator (:class:`~seqlstm.LSTMRegressor`,
    :class:`~seqlstm.LSTMClassifier`, :class:`~seqlstm.LSTMForecaster`, or a
    :class:`~seqlstm.SeedEnsemble` of them, all members in the one file).

    Parameters
    ----------
    estimator : LSTMRegressor, LSTMClassifier, LSTMForecaster or SeedEnsemble
        A fitted estimator.
    path : str or os.PathLike
        Destination file (conventionally ``*.nc``); replaced atomically if it exists.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If `estimator` is not fitted.
    TypeError
        If `estimator` is not a seqlstm estimator.
    """
    name = type(estimator).__name__
    cls = _estimator_class(name)
    if cls is None or not isinstance(estimator, cls):
        known = ", ".join(_estimator_names())
        raise TypeError(f"estimator: expected a seqlstm estimator ({known}); found {name}.")
    state = estimator._to_state()
    if "members" in state:
        variables, attrs = _ensemble_payload(state)
    else:
        variables, attrs = _payload(state)
        attrs = {_MAGIC: FORMAT_VERSION, "seqlstm_version": _version(), **attrs}
    attrs["sha256"] = _checksum({k: v for k, (_, v) in variables.items()})
    _atomic_write(path, variables, attrs)


def _ensemble_payload(state):
    """Variables and attributes of an ensemble: its own settings, the template's class and
    hyperparameters (``template_hp_<name>``), and every member's variables, dims and
    attributes with the prefix ``m<k>_``."""
    template_name, template_params = state["template"]
    attrs = {
        _MAGIC: FORMAT_VERSION,
        "seqlstm_version": _version(),
        "estimator": state["estimator"],
        "title": f"seqlstm {state['estimator']} of {template_name} models",
        "n_members": len(state["members"]),
        "seeds": np.asarray(state["seeds"], dtype=np.int32),
        "template_estimator": template_name,
    }
    for key, value in state["params"].items():
        attrs[f"hp_{key}"] = _json_param(key, value)
    for key, value in template_params.items():
        attrs[f"template_hp_{key}"] = _json_param(key, value)
    variables = {}
    for k, member in enumerate(state["members"]):
        prefix = _member_prefix(k)
        member_vars, member_attrs = _payload(member)
        for vname, (dims, values) in member_vars.items():
            variables[prefix + vname] = (tuple(prefix + d for d in dims), values)
        for key, value in member_attrs.items():
            attrs[prefix + key] = value
    return variables, attrs


def _member_prefix(k):
    return f"m{k}_"


def _payload(state):
    """Variables and attributes (no format version, no checksum) of one estimator's state."""
    name = state["estimator"]
    net = state["network"]
    history = state["history"]
    attrs = {
        "estimator": name,
        "title": f"seqlstm {name} model",
        "n_features_in": int(state["n_features_in"]),
        "n_outputs": int(state["n_outputs"]),
        "n_iter": int(history["n_iter_"]),
        "t": int(history["t_"]),
        "seeds": np.asarray(state["seeds"], dtype=np.int32),
        "fitted_json": json.dumps({
            "loss_": history["loss_"],
            "best_loss_": history["best_loss_"],
            "best_validation_score_": history["best_validation_score_"],
            "best_validation_loss_": history["best_validation_loss_"],
            "stop_reason_": history["stop_reason_"],
            "y_1d": bool(state.get("y_1d", False)),
            "target_name": _plain_name(state.get("target_name")),
            "frame_stride": int(state.get("frame_stride", 1)),
            "chrono_t_max": state.get("chrono_t_max"),
        }),
    }
    if state.get("extra") is not None:   # an estimator's own plain values (JSON)
        attrs["extra_json"] = json.dumps(state["extra"])
    for key, value in state["params"].items():
        attrs[f"hp_{key}"] = _json_param(key, value)
    for key, value in net.config().items():
        attrs[f"net_{key}"] = json.dumps(value)

    variables = {}
    for pname, view in net.named_parameters().items():
        dims = tuple(f"{pname}_dim{i}" for i in range(view.ndim))
        variables[pname] = (dims, np.array(view))
    variables["loss_curve"] = (("epoch",), np.asarray(history["loss_curve_"], dtype=np.float64))
    variables["learning_rate_curve"] = (
        ("epoch",), np.asarray(history["learning_rate_curve_"], dtype=np.float64))
    for key in ("validation_scores", "validation_loss_curve"):  # epochs with a validation set
        if history[f"{key}_"] is not None:
            variables[key] = (("validation_epoch",),
                              np.asarray(history[f"{key}_"], dtype=np.float64))
    for key, dim in (("x_mean", "feature"), ("x_scale", "feature"), ("y_mean", "output"),
                     ("y_scale", "output")):
        if state.get(key) is not None:
            variables[key] = ((dim,), np.asarray(state[key], np.float64))
    if state["feature_names_in"] is not None:
        variables["feature_names_in"] = (("feature",), _strings(state["feature_names_in"]))
    if state.get("output_names") is not None:
        variables["output_names"] = (("output",), _strings(state["output_names"]))
    if state.get("classes") is not None:
        cls_values = np.asarray(state["classes"])
        attrs["classes_dtype"] = cls_values.dtype.str if cls_values.dtype.kind != "O" else "str"
        if cls_values.dtype.kind in "OUS":
            stored = _strings(cls_values)
        elif cls_values.dtype.kind in "iub":
            stored = cls_values.astype(np.float64)  # netCDF3 has no int64; exact below 2**53
            if not np.array_equal(stored.astype(cls_values.dtype), cls_values):
                raise ValueError("classes_: integer labels beyond 2**53 cannot be saved exactly.")
        else:
            stored = cls_values.astype(np.float64)
        variables["classes"] = (("class",), stored)

    return variables, attrs


class ModelFile:
    """Mixin of the estimators: :meth:`save` to a model file."""

    def save(self, path):
        """Save the fitted model as a netCDF file (see :func:`seqlstm.io.save`).

        Parameters
        ----------
        path : str or os.PathLike
            Destination; written atomically.

        Returns
        -------
        self
            The estimator itself.
        """
        save(self, path)
        return self


def _plain_name(name):
    return name if isinstance(name, (str, int, float)) else None


def _version():
    from . import __version__

    return __version__


def _atomic_write(path, variables, attrs):
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".seqlstm-", suffix=".nc.tmp", dir=directory)
    os.close(fd)
    try:
        write_netcdf(tmp, variables, attrs)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path):
    """Load an estimator saved by :func:`save` (or ``estimator.save``).

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    LSTMRegressor, LSTMClassifier or SeedEnsemble
        The fitted estimator; its predictions are bit-identical to the saved one's.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file is not a netCDF file, is truncated or corrupted, is not a seqlstm model,
        or was written by a newer format version.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: no such model file: {path!r}")
    try:
        variables, attrs, _ = read_netcdf(path)
    except Exception as exc:  # scipy/xarray raise many types on bad bytes
        raise ValueError(
            f"path: expected a seqlstm model file (netCDF3); found a file that cannot be read "
            f"as netCDF ({path!r} is truncated, corrupted or of another format: "
            f"{type(exc).__name__}: {exc})."
        ) from None
    try:
        return _restore(variables, attrs, path)
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(
            f"path: expected a complete seqlstm model file; found an inconsistent one "
            f"({path!r}: {type(exc).__name__}: {exc})."
        ) from None


def _restore(variables, attrs, path):
    if _MAGIC not in attrs:
        raise ValueError(
            f"path: expected a seqlstm model file (global attribute {_MAGIC!r}); found a "
            f"netCDF file without it ({path!r} is not a seqlstm model)."
        )
    version = int(attrs[_MAGIC])
    if version > FORMAT_VERSION or version < 1:
        raise ValueError(
            f"path: expected format version <= {FORMAT_VERSION}; found {version} (written by "
            f"seqlstm {attrs.get('seqlstm_version', '?')}); upgrade seqlstm."
        )
    if "n_members" in attrs:
        return _restore_ensemble(variables, attrs, path)
    return _restore_estimator(variables, attrs, path, check=True)


def _class_of(attrs, key="estimator"):
    name = str(attrs.get(key))
    cls = _estimator_class(name)
    if cls is None:
        raise ValueError(f"path: expected an estimator in {_estimator_names()}; found {name!r}.")
    return cls


def _params(cls, attrs, prefix="hp_"):
    """Hyperparameters of ``cls`` stored as ``<prefix><name>``; a missing one (a file written
    before the parameter existed) takes the value in :data:`_LATER_PARAMS` that reproduces how
    such a model was trained, else keeps its default."""
    params = {}
    for key in cls._get_param_names():
        if f"{prefix}{key}" not in attrs:
            if key in _LATER_PARAMS:
                params[key] = _LATER_PARAMS[key]
            continue
        value = json.loads(str(attrs[f"{prefix}{key}"]))
        params[key] = tuple(value) if isinstance(value, list) else value
    return params


def _restore_ensemble(variables, attrs, path):
    cls = _class_of(attrs)
    template_cls = _class_of(attrs, "template_estimator")
    numeric = {k: v for k, v in variables.items() if not k.startswith("_")}
    if _checksum(numeric) != str(attrs.get("sha256")):
        raise ValueError(
            f"path: the weights and statistics do not match their checksum; {path!r} is "
            f"corrupted or was edited."
        )
    members = []
    for k in range(int(attrs["n_members"])):
        prefix = _member_prefix(k)
        sub_vars = {n[len(prefix):]: v for n, v in variables.items() if n.startswith(prefix)}
        sub_attrs = {n[len(prefix):]: v for n, v in attrs.items() if n.startswith(prefix)}
        if not sub_attrs:
            raise ValueError(f"path: the file lacks member {k} of {attrs['n_members']}.")
        members.append(_restore_estimator(sub_vars, sub_attrs, path, check=False))
    state = {
        "params": _params(cls, attrs),
        "template": template_cls(**_params(template_cls, attrs, "template_hp_")),
        "seeds": np.atleast_1d(attrs["seeds"]).astype(np.int64),
        "members": members,
    }
    return cls._from_state(state)


def _restore_estimator(variables, attrs, path, check):
    """One estimator from its variables and attributes; ``check``: verify the checksum."""
    cls = _class_of(attrs)
    params = _params(cls, attrs)

    config = {key: json.loads(str(attrs[f"net_{key}"])) for key in _NET_KEYS
              if key != "readout" or f"net_{key}" in attrs}   # files before readouts: "last"
    net = RecurrentNetwork.from_config(config)
    for pname, view in net.named_parameters().items():
        if pname not in variables:
            raise ValueError(f"path: the file lacks the weight variable {pname!r}.")
        stored = variables[pname]
        if stored.shape != view.shape or stored.dtype != view.dtype:
            raise ValueError(
                f"path: weight {pname!r} expected shape {view.shape} and dtype {view.dtype}; "
                f"found {stored.shape} and {stored.dtype}."
            )
        view[...] = stored
    numeric = {k: v for k, v in variables.items() if not k.startswith("_") and k not in
               ("feature_names_in", "output_names")}
    if check and _checksum(numeric) != str(attrs.get("sha256")):
        raise ValueError(
            f"path: the weights and statistics do not match their checksum; {path!r} is "
            f"corrupted or was edited."
        )

    fitted = json.loads(str(attrs["fitted_json"]))
    state = {
        "params": params,
        "network": net,
        "seeds": np.atleast_1d(attrs["seeds"]),
        "history": {
            "loss_": fitted["loss_"],
            "loss_curve_": [float(v) for v in variables["loss_curve"]],
            "best_loss_": fitted["best_loss_"],
            "validation_scores_": _floats(variables.get("validation_scores")),
            "best_validation_score_": fitted["best_validation_score_"],
            # Entries added after format version 1 was first written: absent in older files.
            "validation_loss_curve_": _floats(variables.get("validation_loss_curve")),
            "best_validation_loss_": fitted.get("best_validation_loss_"),
            "learning_rate_curve_": _floats(variables.get("learning_rate_curve")),
            "stop_reason_": fitted.get("stop_reason_"),
            "n_iter_": int(attrs["n_iter"]),
            "t_": int(attrs["t"]),
        },
        "n_features_in": int(attrs["n_features_in"]),
        "feature_names_in": _object_strings(variables.get("feature_names_in")),
        "n_outputs": int(attrs["n_outputs"]),
        "x_mean": variables.get("x_mean"),
        "x_scale": variables.get("x_scale"),
        "y_mean": variables.get("y_mean"),
        "y_scale": variables.get("y_scale"),
        "y_1d": bool(fitted["y_1d"]),
        "target_name": fitted["target_name"],
        "frame_stride": int(fitted.get("frame_stride", 1)),  # files before frames: 1
        # files before "auto": the parameter's value is the one the network was initialised with
        "chrono_t_max": fitted.get("chrono_t_max", params.get("chrono_t_max")),
        "output_names": _object_strings(variables.get("output_names")),
    }
    if "extra_json" in attrs:
        state["extra"] = json.loads(str(attrs["extra_json"]))
    if "classes" in variables:
        stored = variables["classes"]
        dtype = attrs["classes_dtype"]
        if dtype == "str" or np.dtype(dtype).kind in "OUS":
            state["classes"] = np.asarray([str(v) for v in stored], dtype=dtype if dtype != "str"
                                          else object)
        else:
            state["classes"] = np.asarray(stored).astype(np.dtype(dtype))
    return cls._from_state(state)


def _object_strings(values):
    """Stored names as an object array of str (None stays None)."""
    return None if values is None else np.asarray([str(v) for v in values], dtype=object)


# ---------------------------------------------------------------------------------------------
# netCDF bytes


def write_netcdf(path, variables, attrs):
    """Write variables and global attributes to a netCDF3 file with xarray's scipy backend.

    Parameters
    ----------
    path : str or os.PathLike
        Destination (written directly; callers handle atomicity).
    variables : dict of str -> (tuple of str, ndarray)
        Variable name -> (dims, values).
    attrs : dict of str -> number, str or 1-D array
        Global attributes.
    """
    ds = xr.Dataset({name: xr.Variable(dims, values) for name, (dims, values) in
                     variables.items()}, attrs=attrs)
    encoding = {name: {"_FillValue": None} for name in variables}
    ds.to_netcdf(path, engine="scipy", format="NETCDF3_64BIT", encoding=encoding)


def read_netcdf(path):
    """Read a netCDF file fully into memory with xarray's scipy backend (no pickle).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    variables : dict of str -> ndarray
    attrs : dict
        Global attributes.
    var_attrs : dict of str -> dict
        Attributes of each variable.
    """
    with xr.open_dataset(path, engine="scipy", mask_and_scale=False, decode_times=False,
                         cache=False) as ds:
        ds = ds.load()
        variables = {name: np.asarray(ds[name].values) for name in ds.variables}
        var_attrs = {name: dict(ds[name].attrs) for name in ds.variables}
        return variables, dict(ds.attrs), var_attrs
