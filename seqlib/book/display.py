"""Small display helpers for chapters."""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import IPython.display


def show_source(*objs) -> "IPython.display.Markdown":
    """Shows the source of seqlib objects as a highlighted code block (what the chapter teaches is
    exactly what the tests check: it is read from the package, not copied)."""
    from IPython.display import Markdown

    blocks = []
    for obj in objs:
        src = inspect.getsource(obj)
        where = f"{inspect.getmodule(obj).__name__}"
        blocks.append(f"*From `{where}`:*\n\n```python\n{src.rstrip()}\n```")
    return Markdown("\n\n".join(blocks))


def table(rows: list[dict], floatfmt: str = ".4g") -> "IPython.display.Markdown":
    """A list of dicts as a Markdown table (renders in Jupyter and in the built book)."""
    from IPython.display import Markdown

    if not rows:
        return Markdown("*(no rows)*")
    cols = list(rows[0])
    fmt = lambda v: format(v, floatfmt) if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return Markdown("\n".join(lines))
