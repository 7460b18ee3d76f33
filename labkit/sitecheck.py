"""The built site, opened in a real headless Chromium: what a reader's browser would meet.

`python -m labkit book --check` (and `tests/test_site_browser.py`) serves `build/<profile>/site/` on
127.0.0.1 and drives Debian's `chromium` through `chromedriver` with Selenium. On every page it
looks for console errors, images that did not load (natural width 0) and links to a file of the
site that does not exist; it asks the search page for a word and expects a hit; it takes
screenshots of the home page, the results page and one notebook page. Nothing is fetched from the
internet: Chromium's background networking is off, and external links are not followed.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from labkit.errors import LabkitError

# Flags that keep a headless Chromium off the network and quiet, as root in a container.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)
SCREENSHOTS = {"home": "index.html", "results": "book/glance.html"}  # results: "Results at a glance"


@dataclass
class SiteReport:
    """What the browser met. `problems` is empty when every check passed."""

    pages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)  # resources of other hosts, unreachable without network
    search_hits: list[str] = field(default_factory=list)
    screenshots: dict[str, Path] = field(default_factory=dict)


def browser_paths() -> tuple[str, str] | None:
    """Finds Debian's chromium and chromedriver (or a Chrome) on PATH.

    Returns:
        `(chromium, chromedriver)` paths, or None when either is missing.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def check(site: str | os.PathLike, *, search_word: str, notebook_page: str, screenshots: str | os.PathLike,
          expect_hit: str | None = None, timeout: float = 30.0) -> SiteReport:
    """Opens every page of a built site in headless Chromium and reports what failed.

    Args:
        site: the built site's folder (`build/<profile>/site`).
        search_word: a word the search page must find.
        notebook_page: the notebook page to take a screenshot of, relative to `site`.
        screenshots: the folder the PNG screenshots go to (created).
        expect_hit: a page, relative to `site`, that must be among the search's hits (default: any hit).
        timeout: seconds to wait for a page or for the search's results.

    Returns:
        The pages visited, the problems found (one line each), the resources of other hosts that did not
        load (a Colab badge: reported apart, as nothing but 127.0.0.1 is reachable here), the search's
        hits and the screenshots.
    """
    site = Path(site)
    if not (site / "index.html").is_file():
        raise LabkitError(f"site={str(site)!r} holds no index.html: build it first (python -m labkit book)")
    paths = browser_paths()
    if paths is None:
        raise LabkitError("chromium and chromedriver were not found: install Debian's `chromium` and `chromium-driver`")
    if not (site / notebook_page).is_file():
        raise LabkitError(f"notebook_page={notebook_page!r} is not a page of {site}")
    report = SiteReport()
    shots = Path(screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    with _serve(site) as origin, _chromium(*paths) as driver:
        driver.set_page_load_timeout(timeout)
        pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                       if not any(part.startswith("_") for part in p.relative_to(site).parts))
        for page in pages:
            report.pages.append(page)
            problems, external = _check_page(driver, origin, site, page, timeout)
            report.problems.extend(problems)
            report.external.extend(external)
        for name, page in {**SCREENSHOTS, "notebook": notebook_page}.items():
            driver.get(f"{origin}/{page}")
            _wait_loaded(driver, timeout)
            path = shots / f"{name}.png"
            driver.save_screenshot(str(path))
            report.screenshots[name] = path
        report.search_hits = _search(driver, origin, search_word, timeout)
    if not report.search_hits:
        report.problems.append(f"search.html: no hit for {search_word!r}")
    elif expect_hit and not any(hit.split("#")[0].split("?")[0].endswith(expect_hit) for hit in report.search_hits):
        report.problems.append(f"search.html: {search_word!r} did not find {expect_hit} (hits: {report.search_hits[:5]})")
    return report


def _check_page(driver, origin: str, site: Path, page: str, timeout: float) -> tuple[list[str], list[str]]:
    """The page's problems, and the resources of other hosts it could not load (no network here)."""
    driver.get(f"{origin}/{page}")
    _wait_loaded(driver, timeout)
    time.sleep(0.2)  # scripts that run on load (the theme's, MathJax's) log their errors by now
    problems, external = [], []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        message = entry["message"]
        if message.startswith("http") and not message.startswith(origin) and "net::ERR_" in message:
            external.append(f"{page}: {message.split(' ')[0]}")
        else:
            problems.append(f"{page}: console error: {message[:300]}")
    broken = driver.execute_script(
        "return Array.from(document.images)"
        ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
    for src in broken:
        if src.startswith(origin):
            problems.append(f"{page}: image {src[len(origin):]} has no natural size")
        elif f"{page}: {src}" not in external:
            external.append(f"{page}: {src}")
    links = driver.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    for link in sorted(set(links)):
        parts = urlsplit(link)
        if f"{parts.scheme}://{parts.netloc}" != origin:
            continue  # external: not followed (no network here)
        target = site / unquote(parts.path).lstrip("/")
        if parts.path.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"{page}: link to {parts.path} leads to no file of the site")
    return problems, external


def _search(driver, origin: str, word: str, timeout: float) -> list[str]:
    driver.get(f"{origin}/search.html?q={word}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = driver.execute_script(
            "return Array.from(document.querySelectorAll('#search-results li a')).map(a => a.getAttribute('href'))")
        summary = driver.execute_script("const s = document.querySelector('#search-results p');"
                                        "return s ? s.textContent : ''")
        if hits or "did not match" in summary:
            return hits
        time.sleep(0.2)
    return []


def _wait_loaded(driver, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while driver.execute_script("return document.readyState") != "complete":
        if time.monotonic() > deadline:
            raise LabkitError(f"{driver.current_url} did not finish loading in {timeout:.0f} s")
        time.sleep(0.05)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the report says what failed; no line per request
        pass


class _serve:
    """Serves a folder on 127.0.0.1 on a free port, in a thread, for the `with` block."""

    def __init__(self, folder: Path):
        handler = functools.partial(_Quiet, directory=str(folder))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


class _chromium:
    """A headless Chromium driven by chromedriver, with its own empty profile, closed after the block."""

    def __init__(self, chromium: str, driver: str):
        self._paths = (chromium, driver)
        self._profile = tempfile.mkdtemp(prefix="labkit-chromium-")
        self._driver = None

    def __enter__(self):
        os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = self._paths[0]
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={self._profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self._driver = webdriver.Chrome(service=Service(executable_path=self._paths[1]), options=options)
        return self._driver

    def __exit__(self, *exc) -> None:
        try:
            if self._driver is not None:
                self._driver.quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)
