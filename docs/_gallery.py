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


#: The command-line arguments of each gallery script: the tiny ``--quick`` size unless listed
#: here.  gradient_flow's quick run is too short for its figure to show anything (the RNN's
#: curve lies above the LSTM's there); 300 steps at length 40 show the RNN's gradient fall off
#: (the LSTM's about 100 times higher at lag 40) in seconds.  forecast_dataarray's full size
#: is a few seconds.
ARGV = {
    "gradient_flow.py": ["--steps", "300", "--length", "40"],
    "forecast_dataarray.py": [],
    "forecast_classic.py": ["--quick", "--data", str(CLASSIC_DATA)],
}


def reset_argv(gallery_conf, script_vars):
    """Return the command-line arguments of a gallery script (:data:`ARGV`, else ``--quick``).

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
    return list(ARGV.get(pathlib.Path(script_vars["src_file"]).name, ["--quick"]))
