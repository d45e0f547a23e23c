"""The built site in a real browser: every chapter page renders its math, loads its figures, logs
no console error, fetches nothing from off the machine, and links only to things that exist; a
screenshot of each page goes to _build/screenshots/. Run with `make browser-test` after `make book`.
"""
from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest
import yaml
from selenium.webdriver.support.ui import WebDriverWait

from browser import SITE, TOC, pages, serve

SCREENSHOT_MAX_HEIGHT = 16000  # px; a long chapter is cut there

WAIT_FOR_MATH = """
const done = arguments[arguments.length - 1], timeout = arguments[0];
const math = document.querySelectorAll('.math');
if (math.length === 0) { done({math: 0}); return; }
const t0 = Date.now();
(function poll() {
  const MJ = window.MathJax;
  if (MJ && MJ.startup && MJ.startup.promise) {
    MJ.startup.promise.then(() => {
      const bad = [...math].filter(m => !m.querySelector('mjx-container'));
      done({math: math.length, rendered: document.querySelectorAll('mjx-container').length,
            unrendered: bad.slice(0, 3).map(m => m.textContent.slice(0, 80)), unrendered_n: bad.length,
            errors: [...document.querySelectorAll('mjx-merror')].slice(0, 3).map(e => e.getAttribute('data-mjx-error') || e.textContent)});
    }, e => done({math: math.length, failed: String(e)}));
  } else if (Date.now() - t0 > timeout) {
    done({math: math.length, failed: 'MathJax never started (window.MathJax is ' + typeof MJ + ')'});
  } else { setTimeout(poll, 100); }
})();
"""

WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1];
const imgs = [...document.images];
imgs.forEach(i => { i.loading = 'eager'; });
Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })))
  .then(() => done(imgs.map(i => ({src: i.currentSrc || i.src, w: i.naturalWidth}))));
"""

PROSE_TEXT = """
const main = document.querySelector('main') || document.body || document.documentElement;
const copy = main.cloneNode(true);
copy.querySelectorAll('pre, code, script, style, .highlight, mjx-container').forEach(e => e.remove());
return copy.textContent;
"""

# Code cells whose source is wider than its box (a sideways scrollbar at the 1280-px window)
WIDE_CODE = """
return [...document.querySelectorAll('div.cell_input pre, div.highlight pre')]
  .filter(p => p.scrollWidth > p.clientWidth + 1)
  .map(p => ({over: p.scrollWidth - p.clientWidth,
              line: p.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '').slice(0, 100)}));
"""

# Code shown open (not folded by hide-input) longer than a reader follows next to the prose
LONG_CODE = """
return [...document.querySelectorAll('div.cell_input')]
  .filter(c => !c.closest('details') && c.offsetParent !== null)
  .map(c => (c.querySelector('pre') || c).textContent.replace(/\\n$/, '').split('\\n').length)
  .filter(n => n > 40);
"""
MAX_OPEN_CODE_LINES = 40

# Cell outputs that hold a progress bar's text or a removed widget's state
PROGRESS_TEXT = """
const outs = [...document.querySelectorAll('div.cell_output')].map(o => o.textContent).join('\\n');
const m = outs.match(/\\d+%\\|[^\\n]{0,40}|\\d+(\\.\\d+)?it\\/s\\]/);
return m ? m[0] : null;
"""

# The order of figures and tables in the page's main text: 'img' / 'table' per element
FIRST_FIGURE = """
const main = document.querySelector('main') || document.body;
const el = main.querySelector('img, table');
return el ? el.tagName.toLowerCase() : null;
"""

_link_cache: dict[str, str | None] = {}  # url without fragment -> page text (None: broken)


def _fetch(url: str) -> str | None:
    if url not in _link_cache:
        try:
            with urllib.request.urlopen(url, timeout=20) as r:
                body = r.read()
                _link_cache[url] = body.decode("utf-8", "replace") if "html" in r.headers.get("Content-Type", "") else ""
        except (urllib.error.URLError, OSError):
            _link_cache[url] = None
    return _link_cache[url]


def _broken_links(hrefs: list[str], site_url: str) -> list[str]:
    bad = []
    for href in sorted(set(hrefs)):
        if not href.startswith(site_url):
            continue  # external links are the reader's business, not a build defect
        base, frag = urldefrag(href)
        text = _fetch(base)
        if text is None:
            bad.append(f"{href} (no such file)")
        elif frag and text and not re.search(rf'\bid="{re.escape(frag)}"', text):
            bad.append(f"{href} (no element with id {frag!r})")
    return bad


def _off_machine_requests(perf_log: list[dict]) -> list[str]:
    urls = []
    for entry in perf_log:
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            if urlparse(url).scheme in ("http", "https", "ws", "wss") and urlparse(url).hostname != "127.0.0.1":
                urls.append(url)
    return sorted(set(urls))


def _screenshot(driver, path: Path) -> None:
    """The whole page (up to SCREENSHOT_MAX_HEIGHT): the viewport is stretched to the page's height."""
    height = min(driver.execute_script("return document.documentElement.scrollHeight"), SCREENSHOT_MAX_HEIGHT)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def check_page(driver, base_url: str, page: str, site: Path, screenshot: Path | None = None,
               math_timeout_ms: int = 30000) -> list[str]:
    """Opens base_url + page and returns what is wrong with it (an empty list when nothing is)."""
    driver.get_log("browser"), driver.get_log("performance")  # drop what the previous page left
    driver.get(base_url + page)
    problems = []

    math = driver.execute_async_script(WAIT_FOR_MATH, math_timeout_ms)
    if math.get("failed"):
        problems.append(f"math: {math['failed']}")
    elif math["math"]:
        if math["unrendered_n"]:
            problems.append(f"math: {math['unrendered_n']} of {math['math']} formulas not rendered, e.g. {math['unrendered']}")
        if math["errors"]:
            problems.append(f"math: TeX errors {math['errors']}")
    prose = driver.execute_script(PROSE_TEXT)
    if "$$" in prose:
        i = prose.index("$$")
        problems.append(f"math: raw $$ in the page text: ...{prose[max(0, i - 60):i + 60]!r}...")

    for img in driver.execute_async_script(WAIT_FOR_IMAGES):
        if img["w"] == 0:
            problems.append(f"image not loaded: {img['src']}")

    if "application/vnd.jupyter.widget-state+json" in driver.page_source:
        if not driver.execute_script("return typeof window.requirejs === 'function'"):
            problems.append("widgets: the page holds widget state but require.js did not load")

    if (site / "_sources" / Path(page).with_suffix(".ipynb")).exists():  # a notebook: offered for download
        if not driver.execute_script("return document.querySelector('a[href$=\".ipynb\"]') !== null"):
            problems.append("no download link to the page's notebook (.ipynb)")

    for n in driver.execute_script(LONG_CODE):
        problems.append(f"a code cell of {n} lines is shown open (fold it: hide-input; at most "
                        f"{MAX_OPEN_CODE_LINES})")
    progress = driver.execute_script(PROGRESS_TEXT)
    if progress:
        problems.append(f"progress-bar text in a cell's output: {progress!r}")

    for wide in driver.execute_script(WIDE_CODE):
        problems.append(f"code scrolls sideways by {wide['over']} px at 1280 px: {wide['line']!r}")

    hrefs = driver.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)")
    problems += [f"broken internal link: {b}" for b in _broken_links(hrefs, base_url)]

    if screenshot is not None:
        _screenshot(driver, screenshot)
    problems += [f"console {e['level']}: {e['message']}" for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    problems += [f"request off the machine (the site must work offline): {u}"
                 for u in _off_machine_requests(driver.get_log("performance"))]
    return problems


@pytest.mark.parametrize("page", pages() or ["chapters/intro.html"])  # no site: site_url fails
def test_page(page, driver, site_url, screenshots):
    shot = screenshots / (page.replace("/", "__").removesuffix(".html") + ".png")
    problems = check_page(driver, site_url, page, SITE, screenshot=shot)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


BROKEN_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script src="https://cdn.example.invalid/lib.js"></script></head><body><main>
<p>Math that nothing renders: <span class="math">\\(x^2\\)</span>, and raw $$ y = x $$.</p>
<img src="missing.png" alt="a figure that is not there">
<a href="nowhere.html">a link to nothing</a> <a href="#no-such-anchor">an anchor to nothing</a>
<a href="good.html">a good link</a>
<div class="cell_input"><pre style="width: 300px; overflow-x: auto">x = "{long}"</pre></div>
<div class="cell_input"><pre>{many}</pre></div>
<div class="cell_output"><pre>train: 100%|##########| 10/10 [00:01<00:00, 9.1it/s]</pre></div>
</main></body></html>""".replace("{long}", "z" * 200).replace("{many}", "\n".join(f"x{i} = {i}" for i in range(45)))


def test_the_checks_catch_a_broken_page(driver, tmp_path):
    """The checks above can fail: a hand-written broken page trips every one of them."""
    (tmp_path / "broken.html").write_text(BROKEN_PAGE)
    (tmp_path / "good.html").write_text("<html><body><main>fine</main></body></html>")
    with serve(tmp_path) as url:
        problems = "\n".join(check_page(driver, url, "broken.html", tmp_path, math_timeout_ms=2000))
    for expected in ("math: MathJax never started", "raw $$", "image not loaded: " + url + "missing.png",
                     "broken internal link: " + url + "nowhere.html (no such file)",
                     "no element with id 'no-such-anchor'", "console SEVERE",
                     "request off the machine (the site must work offline): https://cdn.example.invalid/lib.js",
                     "code scrolls sideways", "a code cell of 45 lines is shown open",
                     "progress-bar text in a cell's output"):
        assert expected in problems, f"{expected!r} not reported; got:\n{problems}"
    assert "good.html" not in problems


def test_no_cdn_in_html(site_url):
    """No page loads a script or stylesheet from another host (the browser test above proves it for
    the pages it opens; this covers every HTML file, search and index pages included)."""
    pattern = re.compile(r'<(script|link)\b[^>]*\b(src|href)="((?:https?:)?//[^"]+)"', re.I)
    found = []
    for f in sorted(SITE.rglob("*.html")):
        for tag, _, url in pattern.findall(f.read_text(encoding="utf-8", errors="replace")):
            if tag.lower() == "link" and not re.search(r"\.(css|js|woff2?)(\?|$)", url):
                continue  # <link rel="canonical"/...> to a page is not a download
            found.append(f"{f.relative_to(SITE)}: <{tag} {url}>")
    assert not found, "pages load from another host:\n  " + "\n  ".join(found)


def test_navigation_numbers_chapters_in_order(driver, site_url):
    """The sidebar lists the numbered parts' chapters in _toc.yml's order, numbered 1, 2, 3, ..."""
    toc = yaml.safe_load(TOC.read_text())
    numbered = [c["file"] for part in toc.get("parts", []) if part.get("numbered") for c in part["chapters"]]
    driver.get(site_url + "index.html")  # redirects to the intro
    WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith("chapters/intro.html")
                                    and d.execute_script("return document.readyState") == "complete")
    links = driver.execute_script(
        "return [...document.querySelectorAll('nav.bd-docs-nav a.reference')].map(a => [a.getAttribute('href'), a.textContent.trim()])")
    by_file = {}
    for href, text in links:
        by_file.setdefault(re.sub(r"\.html(#.*)?$", "", href.split("/")[-1]), text)
    shown = [by_file.get(Path(f).name) for f in numbered]
    assert None not in shown, f"chapters missing from the navigation: {[f for f, s in zip(numbered, shown) if s is None]}"
    for k, (f, text) in enumerate(zip(numbered, shown), start=1):
        assert text.startswith(f"{k}. "), f"navigation entry for {f} reads {text!r}, expected it numbered '{k}. '"
    order = [Path(re.sub(r"\.html(#.*)?$", "", h)).name for h, _ in links]
    positions = [order.index(Path(f).name) for f in numbered]
    assert positions == sorted(positions), f"navigation order {order} does not follow _toc.yml {numbered}"


def test_math_accessibility_explorer_works_offline(driver, site_url):
    """MathJax's menu can turn on the accessibility explorer (speech, semantic enrichment), which
    loads further components and the speech rules: they must come from the site too."""
    page = next((p for p in pages() if 'class="math' in (SITE / p).read_text(encoding="utf-8")), None)
    if page is None:
        pytest.skip("no page of this build has math")
    driver.get_log("browser"), driver.get_log("performance")
    driver.get(site_url + page)
    result = driver.execute_async_script("""
const done = arguments[arguments.length - 1];
MathJax.startup.promise.then(() => MathJax.loader.load('a11y/explorer')).then(() => {
  const doc = MathJax.startup.document;
  doc.options.enableEnrichment = true; doc.options.enableExplorer = true;
  MathJax.typesetClear(); return MathJax.typesetPromise();
}).then(() => done({ok: true}), e => done({error: String(e)}));
""")
    assert result.get("ok"), f"{page}: enabling the explorer failed: {result.get('error')}"
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    off = _off_machine_requests(driver.get_log("performance"))
    assert not errors and not off, f"{page}: console errors {errors}, requests off the machine {off}"


@pytest.mark.parametrize("page", ["chapters/verdicts.html", "chapters/08_transformers.html"])
def test_verdicts_and_chapter_8_lead_with_pictures(page, driver, site_url):
    """The verdicts page and chapter 8 show their evidence as figures first (forest plots, the
    summary grid), and every figure loaded."""
    driver.get(site_url + page)
    imgs = driver.execute_async_script(WAIT_FOR_IMAGES)
    assert imgs and all(i["w"] > 0 for i in imgs), f"{page}: figures missing or not loaded: {imgs}"
    assert driver.execute_script(FIRST_FIGURE) == "img", f"{page}: a table comes before any figure"
