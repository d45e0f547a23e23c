"""Helpers for the real-browser test of the built site (`make browser-test`, after `make book`).

A local http.server on 127.0.0.1 serves the site; Debian's chromium, driven through its own
chromedriver (Selenium Manager never runs), opens the pages with every host but 127.0.0.1 made
unresolvable, so a page that needs the network shows up as a failed request.

Environment: SITE (default _build/html), SCREENSHOTS (default _build/screenshots), TOC (_toc.yml),
CHROMIUM (/usr/bin/chromium), CHROMEDRIVER (/usr/bin/chromedriver).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("SITE", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS", ROOT / "_build" / "screenshots")).resolve()
TOC = Path(os.environ.get("TOC", ROOT / "_toc.yml")).resolve()  # the table of contents the site was built with
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
