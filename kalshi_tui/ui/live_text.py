"""``LiveText``: a ``Static`` whose text changes often (ages, rates, counts) and rarely its shape.

Textual's ``Static.update`` re-lays the whole screen out on every change. A text that moves once
a second ("data 3s" -> "data 4s") keeps its shape (the width of each of its lines) nearly
always, and then a repaint of the widget is all it needs.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.visual import VisualType
from textual.widgets import Static


def _shape(content: object) -> tuple[int, ...] | None:
    """The cell width of each line of a text (None: not a text, its size is unknown)."""
    if isinstance(content, Text):
        content = content.plain
    if isinstance(content, str):
        return tuple(cell_len(line) for line in content.split("\n"))
    return None


class LiveText(Static):
    _shape_shown: tuple[int, ...] | None = None

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        shape = _shape(content)
        if layout and shape is not None and shape == self._shape_shown:
            layout = False  # same size: repaint, no layout
        self._shape_shown = shape
        super().update(content, layout=layout)
