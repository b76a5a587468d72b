"""Send only the changed part of a partly refreshed line to the terminal.

Textual's partial screen update (``ChopsUpdate.render_segments``) crops a refreshed line at
the right end of the dirty region but always starts at the left edge of the widget's line
("TODO: crop to x extents" in its source). A live table refreshes just the cells that
changed, so at 200 columns each changed row would re-send its ticker and title, the widest
cells, ten times a second over SSH. ``install`` wraps that method so a line is also cut at
the left end of the dirty region, never inside a wide character (the whole segment is sent
then). Anything unexpected falls back to Textual's own method, and nothing is patched if
Textual's class no longer looks as expected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.cells import cell_len
from rich.control import Control
from rich.segment import Segment
from textual.strip import Strip

_installed = False


def _index_at(text: str, cells: int, size: int) -> int | None:
    """Index in ``text`` where ``cells`` cells end, or None if that is inside a character."""
    if len(text) == size:  # single-width characters only
        return cells
    seen = 0
    for index, char in enumerate(text):
        if seen == cells:
            return index
        seen += cell_len(char)
        if seen > cells:
            return None
    return None


def _skip_to(strip: Strip, x: int, x1: int) -> tuple[Strip, int]:
    """Drop what lies left of ``x1`` from ``strip`` drawn at ``x``: (rest, its x)."""
    segments: list[Segment] = []
    it = iter(strip)
    for segment in it:
        text = segment.text
        size = cell_len(text)
        if x + size <= x1 and not segment.control:
            x += size
            continue
        if x < x1 and not segment.control:
            index = _index_at(text, x1 - x, size)
            if index is not None:
                segment = Segment(text[index:], segment.style)
                x = x1
        segments.append(segment)
        segments.extend(it)
        break
    return Strip(segments), x


def _render_segments(self: Any, console: Any) -> str:
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops = self.chops
    chop_ends = self.chop_ends
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        line = chops[y]
        ends = chop_ends[y]
        for end, (x, strip) in zip(ends, line.items(), strict=False):
            if strip is None or x > x2 or end <= x1:
                continue
            if x2 > x >= x1 and end <= x2:
                append(move_to(x, y).segment.text)
                append(strip.render(console))
                continue
            strip = strip.crop(0, min(end, x2) - x)
            if x < x1:
                strip, x = _skip_to(strip, x, x1)
            append(move_to(x, y).segment.text)
            append(strip.render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def install() -> bool:
    """Patch Textual's partial update once. Returns whether the patch is in place."""
    global _installed
    if _installed:
        return True
    try:
        from textual._compositor import ChopsUpdate
    except ImportError:
        return False
    original: Callable[[Any, Any], str] | None = getattr(ChopsUpdate, "render_segments", None)
    if original is None or not all(
        name in ChopsUpdate.__init__.__code__.co_varnames for name in ("chops", "spans", "chop_ends")
    ):
        return False

    def render_segments(self: Any, console: Any) -> str:
        try:
            return _render_segments(self, console)
        except Exception:  # never lose a frame to this optimisation
            return original(self, console)

    ChopsUpdate.render_segments = render_segments  # type: ignore[method-assign]
    _installed = True
    return True
