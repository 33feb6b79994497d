"""What the gallery passes to each example script (imported by conf.py and, by name, by
sphinx-gallery, which needs the callable importable rather than defined in conf.py)."""

import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: forecast_classic.py reads two classic series from the development data beside the
#: repository (as tests/test_examples.py does); SEQLSTM_CLASSIC_DATA names another folder.
CLASSIC_DATA = pathlib.Path(os.environ.get("SEQLSTM_CLASSIC_DATA",
                                           ROOT / ".." / "shared" / "data" / "forecast"))
HAVE_CLASSIC_DATA = (CLASSIC_DATA / "Airline.csv").exists()


def reset_argv(gallery_conf, script_vars):
    """Return the command-line arguments of a gallery script: its ``--quick`` size.

    Parameters
    ----------
    gallery_conf : dict
        sphinx-gallery's configuration.
    script_vars : dict
        The script's variables; ``"src_file"`` is its path.

    Returns
    -------
    list of str
        ``sys.argv[1:]`` for the script.
    """
    argv = ["--quick"]
    if script_vars["src_file"].endswith("forecast_classic.py"):
        argv += ["--data", str(CLASSIC_DATA)]
    return argv
