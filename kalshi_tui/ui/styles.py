"""Styles of a Line-API widget's parts, cached: building a Rich style per cell costs more than
drawing it."""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget


class ComponentStyles:
    """``styles(name)``: the widget's own style plus its ``PREFIX--name`` component style ("" is
    the widget's alone). Call ``clear()`` when the widget's styles change (theme, CSS)."""

    def __init__(self, widget: Widget, prefix: str) -> None:
        self._widget = widget
        self._prefix = prefix
        self._cache: dict[str, Style] = {}

    def __call__(self, name: str) -> Style:
        style = self._cache.get(name)
        if style is None:
            widget = self._widget
            style = widget.rich_style
            if name:
                style += widget.get_component_rich_style(f"{self._prefix}--{name}", partial=True)
            self._cache[name] = style
        return style

    def clear(self) -> None:
        self._cache.clear()
