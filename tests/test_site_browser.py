"""The course site in a real headless Chromium (labkit.sitecheck), as a reader's browser meets it.

The site is built from a real smoke run of the data tour, with the book tests' stand-in executed
notebooks for the other pages (a smoke run of every notebook costs minutes; nbval runs them all).
CI installs Debian's chromium and chromium-driver (.ci/run) and sets LABKIT_REQUIRE_BROWSER=1, so
that a missing browser fails there instead of skipping.
"""

from __future__ import annotations

import importlib.util
import os
import struct
from pathlib import Path

import pytest

from labkit import book, runner, sitecheck
from labkit.errors import LabkitError

REPO = Path(__file__).resolve().parent.parent
SEARCH_WORD = "fingerprints"  # in the data tour's prose: the search page must lead to it


def _require_browser() -> None:
    missing = [what for what, found in (("chromium and chromedriver", sitecheck.browser_paths()),
                                        ("selenium", importlib.util.find_spec("selenium"))) if not found]
    if missing:
        message = f"{' and '.join(missing)} not installed (Debian: apt-get install chromium chromium-driver)"
        if os.environ.get("LABKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header.startswith(b"\x89PNG\r\n\x1a\n"), f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    _require_browser()
    from test_book import _executed_notebook  # the book tests' stand-in executed notebook

    build = tmp_path_factory.mktemp("browser") / "build"
    [tour] = runner.run(["00"], profile="smoke", seed=0, jobs=1, build_dir=build)
    assert tour.ok, tour.error
    executed = build / "smoke" / "notebooks"
    listed = book.listed_notebooks(REPO / "_toc.yml")
    pages = book._variant_pages(REPO, listed)  # 07: a page per backbone
    for stem in (name for stem in listed for name in pages.get(stem, [stem])):
        if not (executed / f"{stem}.ipynb").exists():
            _executed_notebook(executed / f"{stem}.ipynb", f"{stem} · a stand-in page")
    return book.build(profile="smoke", build_dir=build).parent


@pytest.mark.slow
def test_every_page_loads_cleanly_and_search_finds_the_data_tour(site: Path):
    shots = site.parent / "screenshots"
    report = sitecheck.check(site, search_word=SEARCH_WORD, notebook_page="notebooks/00_data_tour.html",
                             screenshots=shots, expect_hit="notebooks/00_data_tour.html")

    assert not report.problems, "\n".join(report.problems)
    pages = set(report.pages)
    assert {"book/intro.html", "book/glance.html", "search.html", "notebooks/00_data_tour.html"} <= pages
    assert len([p for p in pages if p.startswith("notebooks/")]) >= len(book.listed_notebooks(REPO / "_toc.yml"))
    # the only resource of another host is the Colab badge, which a reader online sees
    assert all(entry.endswith("colab.research.google.com/assets/colab-badge.svg") for entry in report.external), report.external
    assert any("00_data_tour" in hit for hit in report.search_hits)
    for name in ("home", "results", "notebook"):
        width, height = _png_size(report.screenshots[name])
        assert report.screenshots[name].parent == shots and width >= 800 and height >= 600, name
        assert report.screenshots[name].stat().st_size > 20_000, f"{name}.png looks blank"


@pytest.mark.slow
def test_the_check_reports_what_a_reader_would_meet(tmp_path: Path):
    """A console error, an image that does not load, a dead link and a search without hits, each named."""
    _require_browser()
    site = tmp_path / "site"
    (site / "book").mkdir(parents=True)
    (site / "notebooks").mkdir()
    page = '<html><head><link rel="icon" href="data:,"></head><body><h1>Page</h1>{img}<a href="{link}">link</a>{script}</body></html>'
    (site / "index.html").write_text(page.format(img='<img src="missing.png">', link="gone.html", script=""))
    (site / "book" / "glance.html").write_text(page.format(img="", link="../index.html",
                                                            script="<script>throw new Error('boom')</script>"))
    (site / "notebooks" / "00_tour.html").write_text(page.format(img="", link="#top", script=""))
    (site / "search.html").write_text('<div id="search-results"><p>Your search did not match any documents.</p></div>')

    report = sitecheck.check(site, search_word="anything", notebook_page="notebooks/00_tour.html",
                             screenshots=tmp_path / "shots", timeout=10)

    text = "\n".join(report.problems)
    assert "index.html: image /missing.png has no natural size" in text
    assert "index.html: link to /gone.html leads to no file of the site" in text
    assert "book/glance.html: console error:" in text and "boom" in text
    assert "search.html: no hit for 'anything'" in text
    assert not any(line.startswith("notebooks/00_tour.html") for line in report.problems)


def test_a_site_that_was_not_built_is_refused_in_one_line(tmp_path: Path):
    with pytest.raises(LabkitError, match=r"^site='.*' holds no index.html: build it first") as raised:
        sitecheck.check(tmp_path, search_word="x", notebook_page="index.html", screenshots=tmp_path / "s")
    assert "\n" not in str(raised.value)


def test_a_missing_browser_or_page_is_refused_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "index.html").write_text("<html></html>")
    monkeypatch.setattr(sitecheck, "browser_paths", lambda: None)
    with pytest.raises(LabkitError, match=r"^chromium and chromedriver were not found: install Debian's"):
        sitecheck.check(tmp_path, search_word="x", notebook_page="index.html", screenshots=tmp_path / "s")
    monkeypatch.setattr(sitecheck, "browser_paths", lambda: ("/usr/bin/chromium", "/usr/bin/chromedriver"))
    with pytest.raises(LabkitError, match=r"^notebook_page='notebooks/nope.html' is not a page of "):
        sitecheck.check(tmp_path, search_word="x", notebook_page="notebooks/nope.html", screenshots=tmp_path / "s")
    assert not (tmp_path / "s").exists(), "nothing is written before the arguments are checked"


@pytest.mark.slow
def test_the_command_line_builds_checks_and_says_so(site: Path, capsys):
    from labkit.__main__ import main

    assert main(["book", "--profile", "smoke", "--build-dir", str(site.parent.parent), "--check"]) == 0
    out = capsys.readouterr().out
    assert "site checked in Chromium:" in out and ", 0 problem(s)," in out
    assert sorted(p.name for p in (site.parent / "screenshots").iterdir()) == ["home.png", "notebook.png", "results.png"]
