"""labkit.book: the course site built from executed notebooks, never from the sources."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
from pathlib import Path

import pytest

from labkit import book
from labkit.errors import LabkitError

REPO = Path(__file__).resolve().parent.parent
PROFILE = "offline"
OUTPUT_TEXT = "labkit · profile offline: 1257 / 270 / 270 images"
FIGURE_TITLE = "A tiny test figure"


def _png() -> str:
    """Returns a real tiny PNG drawn with matplotlib, base64-encoded as in a notebook."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1), dpi=24)
    ax.plot([0, 1], [1, 0])
    ax.set_title(FIGURE_TITLE)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    assert buffer.getvalue().startswith(b"\x89PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _executed_notebook(path: Path, title: str, *, error: bool = False) -> None:
    """Writes a notebook as papermill leaves it: parameters, a printed block, a figure."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    cells = [
        new_markdown_cell(f"# {title}\n\nA fake executed notebook for the book tests."),
        new_code_cell('PROFILE = "offline"\nSEED = 0', metadata={"tags": ["parameters"]}, execution_count=1),
        new_code_cell(
            "print(summary)",
            execution_count=2,
            outputs=[new_output("stream", name="stdout", text=OUTPUT_TEXT + "\n")],
        ),
        new_code_cell(
            "show_figure()",
            execution_count=3,
            outputs=[
                new_output(
                    "display_data",
                    data={"image/png": _png(), "text/plain": "<Figure size 24x24 with 1 Axes>"},
                )
            ],
        ),
    ]
    if error:
        cells.append(
            new_code_cell(
                "1 / 0",
                execution_count=4,
                outputs=[new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])],
            )
        )
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout-like root: the repository's book files and one source notebook (no outputs)."""
    root = tmp_path / "checkout"
    root.mkdir()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "book", root / "book")
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    source = new_notebook(cells=[new_markdown_cell("# 00 · Data tour"), new_code_cell("print('not run')")])
    (root / "notebooks").mkdir()
    nbformat.write(source, root / "notebooks" / "00_data_tour.ipynb")
    return root


def test_toc_lists_the_data_tour():
    assert book.listed_notebooks(REPO / "_toc.yml")[0] == "00_data_tour"


@pytest.mark.slow
def test_build_publishes_the_executed_notebooks(checkout: Path, tmp_path: Path):
    build_dir = tmp_path / "build"
    executed = build_dir / PROFILE / "notebooks"
    for stem in book.listed_notebooks(checkout / "_toc.yml"):  # later notebooks too, once listed
        _executed_notebook(executed / f"{stem}.ipynb", f"{stem} · executed")
    sources_before = _snapshot(checkout / "notebooks")
    results = build_dir / PROFILE / "results"  # the results file of a notebook the book has no page for
    results.mkdir(parents=True)
    (results / "99_removed.json").write_text('{"profile": "offline", "headline": "score", "values": {"score": 0.5}}')
    stale = build_dir / PROFILE / "site" / "notebooks" / "99_removed.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("<p>from an earlier build</p>")

    index = book.build(profile=PROFILE, build_dir=build_dir, root=checkout)

    site = build_dir / PROFILE / "site"
    assert index == site / "index.html" and index.is_file()
    page = (site / "notebooks" / "00_data_tour.html").read_text(encoding="utf-8")
    assert "00_data_tour · executed" in page
    assert OUTPUT_TEXT in page
    assert "This page’s run" in page or "This page's run" in page  # its provenance line, from its (absent) results file
    figures = re.findall(r'<img [^>]*src="\.\./_images/([^"]+\.png)"', page)
    assert figures, "the figure's <img> is missing from the data tour page"
    assert (site / "_images" / figures[0]).read_bytes().startswith(b"\x89PNG")
    for chapter in ("intro", "running", "datasets"):
        assert (site / "book" / f"{chapter}.html").is_file(), chapter
    glance = (site / "book" / "glance.html").read_text(encoding="utf-8")  # written from this run's (no) results
    assert "Results at a glance" in glance and "99 removed" in glance and "99_removed.html" not in glance
    assert "colab.research.google.com/github/cnn-course-lab/cnn-lab/blob/main/notebooks/00_data_tour.ipynb" in page
    assert not stale.exists(), "a page of an earlier build survived"
    assert _snapshot(checkout / "notebooks") == sources_before
    assert "not run" not in page


def test_missing_executed_notebook_fails_before_building(checkout: Path, tmp_path: Path):
    build_dir = tmp_path / "build"
    (build_dir / PROFILE / "notebooks").mkdir(parents=True)

    with pytest.raises(LabkitError) as raised:
        book.build(profile=PROFILE, build_dir=build_dir, root=checkout)

    message = str(raised.value)
    assert "notebooks/00_data_tour.ipynb" in message
    assert f"python -m labkit run --profile {PROFILE}" in message
    assert "\n" not in message
    assert sorted(p.name for p in (build_dir / PROFILE).iterdir()) == ["notebooks"]


def test_unexpected_error_output_is_refused(checkout: Path, tmp_path: Path):
    build_dir = tmp_path / "build"
    for stem in book.listed_notebooks(checkout / "_toc.yml"):
        _executed_notebook(build_dir / PROFILE / "notebooks" / f"{stem}.ipynb", stem, error=True)

    with pytest.raises(LabkitError, match=r"In \[4\] ended in ZeroDivisionError"):
        book.build(profile=PROFILE, build_dir=build_dir, root=checkout)

    assert not (build_dir / PROFILE / "site").exists()
