"""The chapters as a learner runs them: JupyterLab (what `make lab` starts) in a real browser.

Cut-down copies of chapters 1 and 6, generated from their own cells (tests_browser/lab.py), run in
a live kernel in headless chromium. What a learner sees is checked on the page: no cell shows an
error; chapter 1's training cell shows its progress bars as widgets that reach 100%; moving
chapter 1's slider redraws its gradient-profile figure; typing a word in chapter 6's box changes
the predicted phonemes and the attention figure. An explorer broken on purpose (deaf to its slider),
and JupyterLab without its widget front-end, must fail the same checks. Screenshots of each
step go to _build/screenshots/lab_*.png. Run with `make lab-test` (or `make browser-test`).
"""
from __future__ import annotations

import re
import shutil
import time

import pytest
from selenium.webdriver.common.keys import Keys

import lab
from browser import SCREENSHOTS

RUN_TIMEOUT = 150  # s for one cut-down notebook, set-up to explorer, on a busy 2-core machine
STEP_TIMEOUT = 40  # s for the kernel to answer one slider move or one typed word

APP_READY = """
const app = window.jupyterapp;
return !!(app && app.started && app.restored && document.querySelector('#jp-main-dock-panel'));
"""

# Opens a notebook in the running JupyterLab (the kernel of the one before is shut down first).
OPEN = """
const [path, done] = [arguments[0], arguments[arguments.length - 1]];
const app = window.jupyterapp;
(async () => {
  if (window.__labNb) { await window.__labNb.context.sessionContext.shutdown(); window.__labNb.dispose(); }
  const nb = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await nb.context.ready;
  await nb.context.sessionContext.ready;
  window.__labNb = nb;
  window.__labBusy = 0;  // how often the kernel went busy: a slider move or a word is answered
  nb.context.sessionContext.statusChanged.connect((_, status) => {
    if (status === 'busy') window.__labBusy += 1;
  });
  app.shell.activateById(nb.id);
  app.commands.execute('notebook:run-all-cells');  // not awaited: the test polls the cells
  return 'started';
})().then(done, e => done('error: ' + e));
"""

# What the notebook holds now: the kernel's status and, per code cell, its count and outputs.
STATE = """
const nb = window.__labNb;
const kernel = nb.context.sessionContext.session && nb.context.sessionContext.session.kernel;
const cells = nb.content.widgets.map((w, i) => {
  const m = w.model;
  if (m.type !== 'code') return null;
  return {i, role: m.getMetadata('lab_test') || null, count: m.executionCount,
          running: (w.node.querySelector('.jp-InputPrompt') || {}).textContent === '[*]:',
          outputs: m.outputs.toJSON().map(o => ({type: o.output_type, ename: o.ename || null,
                                                 evalue: o.evalue || null}))};
}).filter(c => c);
return {status: kernel ? kernel.status : 'none', busy: window.__labBusy, cells};
"""

CELL_NODE = "return window.__labNb.content.widgets[arguments[0]].node;"

# Error outputs anywhere in a cell, the widgets' own Output areas included (a callback that raises
# shows its traceback there, not in the cell's outputs).
ERRORS_SHOWN = r"""
return [...arguments[0].querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
  .map(o => o.textContent).filter(t => /Traceback|Error\b/.test(t)).map(t => t.slice(0, 300));
"""

# A cell's value that is only Python's repr of a function or object (e.g. what `interact` returns)
STRAY = r"""
return [...arguments[0].querySelectorAll('.jp-OutputArea-output[data-mime-type="text/plain"]')]
  .map(o => o.textContent.trim()).filter(t => /^<(function|bound method|[\w.]+ object at) /.test(t));
"""

PROGRESS = r"""
const cell = arguments[0];
const bars = [...cell.querySelectorAll('.jupyter-widgets.widget-hprogress')].map(p => {
  const row = p.closest('.widget-hbox') || p.parentElement;
  const bar = p.querySelector('.progress-bar');
  return {row: row.textContent.replace(/\s+/g, ' ').trim(), width: bar ? bar.style.width : null};
});
const text = [...cell.querySelectorAll('.jp-OutputArea-output')]
  .filter(o => !o.querySelector('.jupyter-widgets')).map(o => o.textContent).join('\n');
return {bars, text};
"""

EXPLORER = r"""
const cell = arguments[0];
const out = cell.querySelector('.jp-OutputArea-output .widget-interact .widget-output, .jp-OutputArea-output .widget-output');
const img = out && out.querySelector('img');
return {sliders: cell.querySelectorAll('.jupyter-widgets.widget-slider').length,
        texts: cell.querySelectorAll('.jupyter-widgets.widget-text input').length,
        readout: [...cell.querySelectorAll('.widget-readout')].map(r => r.textContent.trim()),
        image: img ? img.src : null,
        printed: out ? out.innerText.trim() : null,
        shown: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent).join(' ').slice(0, 200)};
"""

TEXT_BAR = re.compile(r"\d+%\|[^\n]{0,40}|\d+(\.\d+)?it/s\]|HBox\(children=|FloatProgress\(")


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def jlab():
    """(driver, base URL, token): JupyterLab on 127.0.0.1 serving the cut-down chapters, open in
    chromium."""
    for exe in (lab.CHROMIUM, lab.CHROMEDRIVER):
        if not shutil.which(exe):
            pytest.fail(f"{exe} not found: `make browser-deps` installs chromium and chromium-driver")
    lab.write_notebooks()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with lab.jupyterlab() as (url, token, config):
        drv, profile = lab.chrome()
        try:
            load_lab(drv, url, token)
            yield drv, url, token, config
        finally:
            drv.quit()
            shutil.rmtree(profile, ignore_errors=True)


def load_lab(drv, url: str, token: str) -> None:
    drv.get(f"{url}lab?token={token}")
    _wait(lambda: drv.execute_script(APP_READY), 90, "JupyterLab's page never finished loading")


def _wait(pred, timeout, what):
    t0 = time.monotonic()
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{what} (after {timeout} s)")
        time.sleep(0.25)


# ------------------------------------------------------------------------------- the learner
def run_notebook(drv, name: str, shot: str) -> dict:
    """Opens `name` in JupyterLab and runs all its cells as a learner would (Run > Run All
    Cells); waits until every cell ran or one failed. Returns STATE."""
    started = drv.execute_async_script(OPEN, name)
    assert started == "started", f"{name}: {started}"

    def finished():
        s = drv.execute_script(STATE)
        failed = any(o["type"] == "error" for c in s["cells"] for o in c["outputs"])
        ran = all(c["count"] is not None and not c["running"] for c in s["cells"])
        return s if s["status"] == "idle" and (ran or failed) else None

    state = _wait(finished, RUN_TIMEOUT, f"{name}: its cells did not finish running")
    drv.save_screenshot(str(SCREENSHOTS / f"{shot}_1_run.png"))
    return state


def cell_node(drv, state: dict, role: str, which: int = 0):
    cells = [c["i"] for c in state["cells"] if c["role"] == role]
    assert len(cells) > which, f"no cell with role {role!r} in the notebook"
    node = drv.execute_script(CELL_NODE, cells[which])
    drv.execute_script("arguments[0].scrollIntoView({block: 'start'});", node)
    return node


def check_errors(drv, state: dict) -> list[str]:
    problems = [f"cell {c['i']}: {o['ename']}: {o['evalue']}" for c in state["cells"]
                for o in c["outputs"] if o["type"] == "error"]
    problems += [f"cell {c['i']} did not run" for c in state["cells"] if c["count"] is None]
    for c in state["cells"]:
        node = drv.execute_script(CELL_NODE, c["i"])
        problems += [f"cell {c['i']} shows an error: {t}" for t in drv.execute_script(ERRORS_SHOWN, node)]
        problems += [f"cell {c['i']} shows a stray value: {t}" for t in drv.execute_script(STRAY, node)]
    return problems


def check_progress(drv, node) -> list[str]:
    """The training cell's bars are widgets, each at 100%, and no bar is printed as text."""
    p = drv.execute_script(PROGRESS, node)
    problems = []
    m = TEXT_BAR.search(p["text"])
    if m:
        problems.append(f"progress: a progress bar shown as text, not a widget: {m.group(0)!r}")
    if not p["bars"]:
        problems.append("progress: no progress bar rendered as a widget")
    problems += [f"progress: bar {b['row']!r} did not reach 100% (width {b['width']})"
                 for b in p["bars"] if "100%" not in b["row"] or b["width"] not in ("100%", None)]
    return problems


def _settled(drv, node, busy_before: int) -> dict:
    """The explorer's state once the kernel has answered: it went busy after the action and has
    been idle for a second since (or the wait ran out)."""
    t0, last = time.monotonic(), None
    while time.monotonic() - t0 < STEP_TIMEOUT:
        time.sleep(0.25)
        s = drv.execute_script(STATE)
        now = (s["status"], s["busy"])
        if s["status"] == "idle" and s["busy"] > busy_before:
            if last is not None and last[0] == now and time.monotonic() - last[1] >= 1.0:
                break
            if last is None or last[0] != now:
                last = (now, time.monotonic())
        else:
            last = None
    return drv.execute_script(EXPLORER, node)


def check_slider(drv, node, shot: str, presses: int = 4) -> list[str]:
    """Moving the explorer's first slider (keyboard, as a learner can) redraws its figure."""
    before = drv.execute_script(EXPLORER, node)
    if not before["sliders"] or not before["image"]:
        drv.save_screenshot(str(SCREENSHOTS / f"{shot}_2_slider.png"))
        what = "no slider widget in" if not before["sliders"] else "no figure drawn by"
        return [f"sliders: {what} the explorer's output (it shows: {before['shown']!r})"]
    busy = drv.execute_script(STATE)["busy"]
    handle = node.find_element("css selector", ".widget-slider .noUi-handle")
    for _ in range(presses):
        handle.send_keys(Keys.ARROW_RIGHT)
        time.sleep(0.2)
    after = _settled(drv, node, busy)
    drv.save_screenshot(str(SCREENSHOTS / f"{shot}_2_slider.png"))
    problems = []
    if after["readout"] == before["readout"]:
        problems.append(f"sliders: the slider did not move (readout {before['readout']})")
    if after["image"] == before["image"]:
        problems.append(f"sliders: moving the slider ({before['readout']} -> {after['readout']}) "
                        "did not change the figure")
    return problems


def check_word(drv, node, shot: str, word: str, expect: str) -> list[str]:
    """Typing `word` in the explorer's box changes the printed phonemes and the figure; the
    printed text then holds `expect` (the word's dictionary line)."""
    before = drv.execute_script(EXPLORER, node)
    if not before["texts"]:
        drv.save_screenshot(str(SCREENSHOTS / f"{shot}_2_word.png"))
        return [f"word: no text box in the explorer's output (it shows: {before['shown']!r})"]
    busy = drv.execute_script(STATE)["busy"]
    box = node.find_element("css selector", ".widget-text input")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(word, Keys.ENTER)
    after = _settled(drv, node, busy)
    drv.save_screenshot(str(SCREENSHOTS / f"{shot}_2_word.png"))
    problems = []
    if after["printed"] == before["printed"]:
        problems.append(f"word: typing {word!r} did not change the output ({before['printed']!r})")
    elif expect not in (after["printed"] or ""):
        problems.append(f"word: after typing {word!r} the output lacks {expect!r}: {after['printed']!r}")
    if after["image"] == before["image"]:
        problems.append(f"word: typing {word!r} did not change the figure")
    return problems


# -------------------------------------------------------------------------------------- tests
def test_chapter1_progress_bars_and_gradient_explorer(jlab):
    drv = jlab[0]
    state = run_notebook(drv, "lab_01_rnn.ipynb", "lab_01_rnn")
    problems = check_errors(drv, state)
    problems += check_progress(drv, cell_node(drv, state, "progress"))
    problems += check_slider(drv, cell_node(drv, state, "sliders"), "lab_01_rnn")
    assert not problems, "\n".join(problems)


def test_chapter6_type_a_word(jlab):
    drv = jlab[0]
    state = run_notebook(drv, "lab_06_attention.ipynb", "lab_06_attention")
    problems = check_errors(drv, state)
    # "thought" is in CMUdict: the explorer prints the dictionary's pronunciation under its own
    problems += check_word(drv, cell_node(drv, state, "word"), "lab_06_attention", "thought",
                           "dictionary: TH AO T")
    assert not problems, "\n".join(problems)


def test_the_checks_catch_a_broken_explorer(jlab):
    """The same checks fail, each for its reason, on chapter 1's copy with a deliberately broken
    explorer (its figure deaf to the slider: lab.broken_notebook), and when JupyterLab's widget
    front-end is turned off: progress bars and sliders then reach the page as text, which is what
    a learner sees when it is missing."""
    drv, url, token, config = jlab
    state = run_notebook(drv, "lab_broken.ipynb", "lab_broken")
    assert not check_errors(drv, state)  # broken quietly, as a learner would meet it
    frozen = check_slider(drv, cell_node(drv, state, "sliders"), "lab_broken")
    assert any("did not change the figure" in p for p in frozen), frozen

    # the page again, without the widget front-end; the notebook reopens on its running kernel
    lab.disable_extensions(config, (lab.WIDGET_FRONTEND,))
    try:
        load_lab(drv, url, token)
        state = run_notebook(drv, "lab_broken.ipynb", "lab_no_widgets")
    finally:
        lab.disable_extensions(config, ())
    bars = check_progress(drv, cell_node(drv, state, "progress"))
    assert any("no progress bar rendered as a widget" in p for p in bars), bars
    assert any("shown as text" in p for p in bars), bars
    as_text = check_slider(drv, cell_node(drv, state, "sliders"), "lab_no_widgets")
    assert any("no slider widget" in p and "interactive(children=" in p for p in as_text), as_text
