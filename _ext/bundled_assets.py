"""Serves the site's JavaScript from the site itself, so that it works offline and behind firewalls.

Sphinx loads MathJax from a CDN by default, and myst-nb loads require.js and the ipywidgets
embedder (@jupyter-widgets/html-manager) from CDNs on pages that hold widget state. This module
fetches pinned versions of those npm packages once (`npm pack`, then a SHA-256 check of each
tarball), copies the files the site needs into `_vendor/` (not committed: ~8 MB), and, as a
Sphinx extension, adds `_vendor/` to `html_static_path`, so the files land in `_build/html/_static/`
where `mathjax_path` and `nb_ipywidgets_js` in `_config.yml` point.

    python _ext/bundled_assets.py      # fetch now (what `make vendor` runs); a no-op when present

As an extension it fetches on the first build if `_vendor/` is missing, and turns a failed fetch
into a build warning (so `-W` stops with the reason instead of a site whose math silently fails).
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "_vendor"

# npm spec, sha256 of the registry tarball, and what to copy: (path in the package, destination)
PACKAGES = [
    ("mathjax@3.2.2", "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09", [
        ("package/LICENSE", "mathjax/LICENSE"),
        ("package/es5/tex-chtml-full.js", "mathjax/tex-chtml-full.js"),  # TeX input, CHTML output, all TeX packages
        ("package/es5/output/chtml/fonts/woff-v2/", "mathjax/output/chtml/fonts/woff-v2/"),
        ("package/es5/ui/", "mathjax/ui/"),  # the right-click menu's lazily loaded parts
        ("package/es5/a11y/", "mathjax/a11y/"),  # accessibility: explorer and speech, on request
        ("package/es5/sre/", "mathjax/sre/"),  # (from the menu); semantic enrichment also needs
        ("package/es5/input/mml.js", "mathjax/input/mml.js"),  # the MathML input
        ("package/es5/input/mml/", "mathjax/input/mml/"),
    ]),
    ("requirejs@2.3.8", "777158e89275e16bd51aec3ef714fbcb5dc45789e7078659933bc814916d7dec", [
        ("package/require.js", "requirejs/require.js"),
    ]),
    ("@jupyter-widgets/html-manager@1.0.15",  # the embedder for ipywidgets 8 (widget protocol 2)
     "2b9d65cb7913e1c7d671757a10008b32c9c2448d4429513371e55c07d6107638", [
         ("package/dist/embed-amd.js", "html-manager/embed-amd.js"),
         ("package/dist/*.woff2", "html-manager/"),  # Font Awesome, which embed-amd.js loads
         ("package/dist/*.woff", "html-manager/"),  # relative to itself
         ("package/dist/*.ttf", "html-manager/"),
         ("package/dist/*.eot", "html-manager/"),
         ("package/dist/*.svg", "html-manager/"),
     ]),
]
STAMP = VENDOR / (".fetched-" + hashlib.sha256(repr(PACKAGES).encode()).hexdigest()[:16])


def _tarball_name(spec: str) -> str:
    name, version = spec.rsplit("@", 1)
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def _copy(tar: tarfile.TarFile, src: str, dest: Path) -> int:
    n = 0
    for m in tar.getmembers():
        p = PurePosixPath(m.name)
        if not m.isfile():
            continue
        if src.endswith("/"):
            if not m.name.startswith(src):
                continue
            target = dest / m.name[len(src):]
        elif "*" in src:
            if p.parent != PurePosixPath(src).parent or not p.match(PurePosixPath(src).name):
                continue
            target = dest / p.name
        elif m.name == src:
            target = dest
        else:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tar.extractfile(m) as f, open(target, "wb") as out:
            shutil.copyfileobj(f, out)
        n += 1
    if not n:
        raise RuntimeError(f"bundled_assets: {src} is not in the package")
    return n


def fetch(log=print) -> Path:
    """Fetches and unpacks every package into _vendor/ unless the stamp says it is done."""
    if STAMP.exists():
        return VENDOR
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("bundled_assets: npm is needed once, to fetch MathJax, require.js and the "
                           "ipywidgets embedder into _vendor/ (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        specs = [spec for spec, _, _ in PACKAGES]
        log(f"bundled_assets: fetching {', '.join(specs)} from the npm registry into {VENDOR}")
        subprocess.run([npm, "pack", "--silent", "--pack-destination", tmp, *specs], check=True,
                       stdout=subprocess.DEVNULL)
        staging = Path(tmp) / "vendor"
        for spec, sha, files in PACKAGES:
            tgz = Path(tmp) / _tarball_name(spec)
            got = hashlib.sha256(tgz.read_bytes()).hexdigest()
            if got != sha:
                raise RuntimeError(f"bundled_assets: {spec}: sha256 {got} does not match the pinned {sha}")
            with tarfile.open(tgz) as tar:
                for src, dest in files:
                    _copy(tar, src, staging / dest)
        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        shutil.move(str(staging), VENDOR)
        STAMP.touch()
    return VENDOR


def _config_inited(app, config) -> None:
    from sphinx.util import logging
    logger = logging.getLogger(__name__)
    try:
        fetch(log=logger.info)
    except Exception as e:  # a warning, so that -W fails the build with the reason
        logger.warning(f"{e} -- math and widgets would load from nowhere; run `make vendor`")
        return
    config.html_static_path = list(config.html_static_path) + [str(VENDOR)]


def _fix_page_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drops repeated <script> tags and tells require.js where the widget embedder lives.

    Repeated tags: Extensions that add inline scripts in `env-before-read-docs`
    (sphinx-thebe, sphinx-togglebutton) reach the page twice under Sphinx 7.4, once as
    _JavaScript(None, body=...) and once as _JavaScript('', body=...); the second
    `const THEBE_JS_URL = ...` is a SyntaxError in the browser console of every page."""
    files = context.get("script_files")
    if not isinstance(files, list):
        return
    seen, unique = set(), []
    for js in files:
        attrs = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", 500), tuple(sorted(attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    files[:] = unique
    if any(str(getattr(js, "filename", "")).endswith("html-manager/embed-amd.js") for js in unique):
        # embed-amd.js finds its fonts next to the AMD module id @jupyter-widgets/html-manager/dist,
        # which require.js resolves against the page's folder unless told where it lives. A global
        # `require` object defined before require.js loads is its configuration.
        where = context["pathto"]("_static/html-manager", 1)
        app.add_js_file(None, priority=450,
                        body=f'var require = {{paths: {{"@jupyter-widgets/html-manager/dist": "{where}"}}}};')


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("html-page-context", _fix_page_scripts, priority=900)  # after per-page additions
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    try:
        print(f"bundled_assets: {fetch()} is ready")
    except Exception as e:
        sys.exit(str(e))
