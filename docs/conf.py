"""Sphinx configuration of the seqlstm documentation.

Build with ``make -C docs html`` or ``sphinx-build -W -b html docs docs/_build/html`` (warnings
are errors).  The gallery runs the scripts of ``examples/`` at small sizes (mostly their
``--quick`` flag; ``_gallery.ARGV``), so the whole build stays within minutes on two cores; run a
script by hand for its full size.
"""

import pathlib
import sys
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import seqlstm  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

# the gallery's short runs stop at max_iter on purpose: no warning (with a path of the machine
# that built the pages) in their printed output
warnings.filterwarnings("ignore", category=ConvergenceWarning)

project = "seqlstm"
author = "seqlstm developers"
copyright = "seqlstm developers"
release = seqlstm.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
root_doc = "index"

# -- API reference ----------------------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
# numpydoc renders the sections; the class pages list their methods, those of seqlstm base
# classes included (_templates/autosummary/class.rst, _skip_sklearn_plumbing below)
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Docstring validation runs in tests/test_docs.py (the checks and why are documented there),
# not in the build: the build fails on rendering problems, the test on missing sections.
numpydoc_validation_checks = set()

# -- Gallery ----------------------------------------------------------------------------------
sys.path.insert(0, str(ROOT / "docs"))
from _gallery import CLASSIC_DATA, HAVE_CLASSIC_DATA  # noqa: E402

if not HAVE_CLASSIC_DATA:
    print(f"docs: {CLASSIC_DATA} has no Airline.csv: forecast_classic.py is shown in the "
          "gallery but not run (set SEQLSTM_CLASSIC_DATA to the folder to run it)")

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # every script is an example (they are named for what they do, not plot_*)
    "filename_pattern": r".*\.py$" if HAVE_CLASSIC_DATA else r"^(?!.*forecast_classic).*\.py$",
    "reset_argv": "_gallery.reset_argv",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "min_reported_time": 1,
    "show_memory": False,
    "plot_gallery": "True",
}

# -- HTML -------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"seqlstm {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    """Leave out the members a class inherits from scikit-learn (``get_params``,
    ``set_fit_request`` ...): their docstrings are scikit-learn's and point into its glossary.
    The class pages list inherited members (templates/autosummary/class.rst) so that methods
    defined on seqlstm's own base classes (``inspect``, ``save`` ...) are documented."""
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    target = getattr(obj, "fget", obj)
    module = getattr(target, "__module__", None) or ""
    if what == "class" and module.split(".")[0] == "sklearn":
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)
