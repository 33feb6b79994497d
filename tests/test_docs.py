"""The documentation: numpydoc validation of every public docstring, and the built site.

- :func:`test_public_docstring_passes_numpydoc_validation` runs numpydoc's validation (the
  checks of :data:`CHECKS`) over every public name: ``seqlstm.__all__``, the ``__all__`` of
  ``seqlstm.metrics``, ``seqlstm.inspect``, ``seqlstm.datasets``, ``seqlstm.testing`` and its
  ``properties`` and ``strategies`` modules, and the public methods and properties that seqlstm
  classes define.  It needs no build.
- The other tests read the HTML that ``sphinx-build -b html docs docs/_build/html`` (or
  ``make -C docs html``) wrote, and skip, saying so, when it is not there: the API page must
  list every name of ``seqlstm.__all__`` and every gallery page must show a figure.
"""

import importlib
import inspect
import pathlib
import re

import pytest

import seqlstm

numpydoc_validate = pytest.importorskip(
    "numpydoc.validate", reason="numpydoc is not installed (pip install -e '.[docs]')")

ROOT = pathlib.Path(__file__).parents[1]
HTML = ROOT / "docs" / "_build" / "html"

#: numpydoc's checks, all but these (numpydoc.validate.ERROR_MSGS has the codes):
#:
#: - ES01 (no extended summary), SA01 (no See Also), EX01 (no Examples): optional sections; the
#:   worked examples are in the gallery and the user guide.
#: - SS06 (summary spans two lines) and GL02 (closing quotes on the last text line): layout of
#:   the source text only; the rendered page and autosummary's one-line summary are the same.
#:
#: Every parameter and every returned value needs a type and a description (PR04, PR07, RT03).
EXCLUDED_CHECKS = {"ES01", "SA01", "EX01", "SS06", "GL02"}
CHECKS = set(numpydoc_validate.ERROR_MSGS) - EXCLUDED_CHECKS

#: Modules whose ``__all__`` is public, besides ``seqlstm`` itself.
PUBLIC_MODULES = ["seqlstm.metrics", "seqlstm.model_selection", "seqlstm.inspect",
                  "seqlstm.datasets", "seqlstm.testing", "seqlstm.testing.properties",
                  "seqlstm.testing.strategies"]


def _own_members(cls):
    """Public methods and properties that seqlstm defines on `cls` or its seqlstm bases."""
    seen = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("seqlstm"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if inspect.isfunction(value) or isinstance(value, (property, classmethod,
                                                               staticmethod)):
                seen[name] = klass
    return sorted(seen)


def public_objects():
    """Import paths of every public function, class, method and property."""
    modules = {"seqlstm": seqlstm.__all__}
    for name in PUBLIC_MODULES:
        modules[name] = importlib.import_module(name).__all__
    paths, seen = [], set()
    for module_name, names in modules.items():
        module = importlib.import_module(module_name)
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or callable(obj)) or inspect.ismodule(obj):
                continue            # constants are documented by the module's docstring
            key = id(obj)
            if key in seen:
                continue
            seen.add(key)
            paths.append(f"{module_name}.{name}")
            if inspect.isclass(obj):
                paths += [f"{module_name}.{name}.{member}" for member in _own_members(obj)]
    return paths


def _params():
    out = []
    for path in public_objects():
        out.append(pytest.param(path, id=path))
    return out


def validation_errors(path):
    """numpydoc's errors of the object at `path`, restricted to :data:`CHECKS`."""
    result = numpydoc_validate.validate(path)
    return [f"{code}: {message}" for code, message in result["errors"] if code in CHECKS]


@pytest.mark.parametrize("path", _params())
def test_public_docstring_passes_numpydoc_validation(path):
    errors = validation_errors(path)
    assert not errors, f"{path}:\n  " + "\n  ".join(errors)


def test_validation_sees_every_public_name_and_catches_a_bad_docstring(monkeypatch):
    paths = public_objects()
    for name in seqlstm.__all__:
        assert f"seqlstm.{name}" in paths
    assert "seqlstm.LSTMRegressor.fit" in paths and "seqlstm.metrics.nse" in paths
    assert "seqlstm.LSTMRegressor.inspect" in paths        # defined on a seqlstm base class

    def undocumented(a, b):
        """do things"""

    monkeypatch.setattr(seqlstm.metrics, "nse", undocumented)
    errors = " ".join(validation_errors("seqlstm.metrics.nse"))
    assert "PR01" in errors and "SS02" in errors and "SS03" in errors


def _built(page):
    path = HTML / page
    if not path.exists():
        pytest.skip(f"{path} is absent: the documentation is not built "
                    "(make -C docs html builds it)")
    return path.read_text(encoding="utf-8")


def test_api_page_lists_every_public_name():
    html = _built("api/index.html")
    missing = [name for name in seqlstm.__all__
               if not re.search(rf'href="generated/seqlstm\.{name}\.html"', html)]
    assert not missing, f"the API page links no page for {missing}"
    for name in seqlstm.__all__:
        assert (HTML / "api" / "generated" / f"seqlstm.{name}.html").exists(), name


@pytest.mark.parametrize("stem", sorted(p.stem for p in (ROOT / "examples").glob("*.py")))
def test_every_gallery_example_page_has_a_figure(stem):
    html = _built(f"auto_examples/{stem}.html")
    if stem == "forecast_classic" and "sphx-glr-script-out" not in html:
        pytest.skip("forecast_classic was not run in this build (its data folder was absent; "
                    "see docs/conf.py)")
    images = re.findall(r'src="(\.\./_images/sphx_glr_[^"]+\.png)"', html)
    assert images, f"the gallery page of examples/{stem}.py shows no figure"
    for src in images:
        assert (HTML / "auto_examples" / src).resolve().stat().st_size > 0, src
