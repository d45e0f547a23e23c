"""Fixtures for the real-browser test of the built site (`make browser-test`, after `make book`).

A local http.server on 127.0.0.1 serves the site; Debian's chromium, driven through its own
chromedriver (Selenium Manager never runs), opens the pages with every host but 127.0.0.1 made
unresolvable, so a page that needs the network shows up as a failed request.

Environment: SITE (default _build/html), SCREENSHOTS (default _build/screenshots),
CHROMIUM (/usr/bin/chromium), CHROMEDRIVER (/usr/bin/chromedriver).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("SITE", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS", ROOT / "_build" / "screenshots")).resolve()
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def pages() -> list[str]:
    """Every chapter-like page (everything under chapters/; index.html only redirects to the intro)."""
    return sorted(p.relative_to(SITE).as_posix() for p in (SITE / "chapters").glob("*.html"))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass

    def do_GET(self):
        # Chrome asks every new origin for /favicon.ico on its own; the site has none, and a 404
        # there would read as a console error of the first page tested.
        if self.path == "/favicon.ico" and not (Path(self.directory) / "favicon.ico").exists():
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()


@contextlib.contextmanager
def serve(directory: Path):
    """Serves `directory` on a free port of 127.0.0.1; yields its URL (ending in /)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def site_url():
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site at {SITE}: run `make book` first")
    with serve(SITE) as url:
        yield url


@pytest.fixture(scope="session")
def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for exe in (CHROMIUM, CHROMEDRIVER):
        if not os.access(exe, os.X_OK):
            pytest.fail(f"{exe} not found: `make browser-deps` installs chromium and chromium-driver")
    profile = tempfile.mkdtemp(prefix="browser-test-profile-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,900",
                 # offline: no name but 127.0.0.1 resolves, so any CDN request fails (and is reported)
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(60)
    drv.set_script_timeout(60)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
