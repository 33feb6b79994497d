"""Every ```python block of README.md runs on its own, as a reader would paste it.

Each block is executed in a fresh namespace (nothing carried over from another block) with a
temporary working directory, so the files a block writes land there.  Tracebacks point at the
README's own line numbers.
"""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def python_blocks(text):
    """``(id, first line number, code)`` of every ```python block of `text`, the id naming the
    section the block is in."""
    blocks = []
    for match in _BLOCK.finditer(text):
        before = text[:match.start()]
        headings = re.findall(r"^#+ (.+)$", before, re.MULTILINE)
        section = re.sub(r"\W+", "-", headings[-1].lower()).strip("-") if headings else "top"
        line = before.count("\n") + 2  # the block's first line of code
        blocks.append((f"{section}-line{line}", line, match.group(1)))
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_blocks_are_found():
    # the README's sections with code: analysis script, forecasting, engine, stability
    assert len(BLOCKS) >= 4
    sections = " ".join(block_id for block_id, _, _ in BLOCKS)
    for section in ("analysis-script", "forecasting", "engine", "stability"):
        assert section in sections, section


def test_extraction_keeps_each_block_whole():
    text = "# A\n\n```python\nx = 1\n\ny = x\n```\n\n## B\n\n```python\nz = 2\n```\n"
    assert python_blocks(text) == [("a-line4", 4, "x = 1\n\ny = x\n"), ("b-line12", 12, "z = 2\n")]


@pytest.mark.parametrize("line, code", [b[1:] for b in BLOCKS], ids=[b[0] for b in BLOCKS])
def test_readme_block_runs_on_its_own(line, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    compiled = compile("\n" * (line - 1) + code, str(README), "exec")
    exec(compiled, {"__name__": "__readme__"})  # a fresh namespace: no earlier block's names
