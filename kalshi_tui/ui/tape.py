"""The selected market's recent trades as a narrow column, newest on top: drawn beside the
depth ladder when the terminal is wide enough to hold both.

Line API, like the ladder: each line is a small tuple, and only lines whose tuple changed
are rendered again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from kalshi_tui.protocol import messages as m
from kalshi_tui.ui import cells as c
from kalshi_tui.ui.grid import fit

#: the tape's width in cells, and the least terminal width that gets one
WIDTH = 32
MIN_TERMINAL_WIDTH = 110

_Line = tuple[str, str, str, str]  # time, price, size, taker side


class TradeTape(Widget):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"tape--header", "tape--yes", "tape--no"}

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[_Line] = []
        self._cache: dict[int, tuple[_Line, Strip]] = {}
        self.lines_rendered = 0
        self._trades: Sequence[m.Trade] = ()

    def on_resize(self) -> None:
        self._cache.clear()
        self.show(self._trades)
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def show(self, trades: Sequence[m.Trade]) -> None:
        """``trades`` oldest first (a market's trade ring); the newest that fit are drawn."""
        self._trades = trades
        rows = max(0, self.size.height - 1)
        shown = list(trades)[-rows:] if rows else []
        lines = [
            (c.clock_text(t.ts_ms), c.cents(t.yes_price), c.contracts(t.count), t.taker_side.upper())
            for t in reversed(shown)
        ]
        old, self._lines = self._lines, lines
        for i in range(max(len(old), len(lines))):
            if (old[i] if i < len(old) else None) != (lines[i] if i < len(lines) else None):
                self.refresh(Region(0, i + 1, self.size.width, 1))

    def _style(self, name: str) -> Style:
        return self.rich_style + self.get_component_rich_style(f"tape--{name}", partial=True)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            return Strip(
                [Segment(fit(" Trades (newest first)", width, "left"), self._style("header"))], width
            )
        i = y - 1
        if i >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        line = self._lines[i]
        cached = self._cache.get(i)
        if cached is not None and cached[0] == line:
            return cached[1]
        self.lines_rendered += 1
        when, price, size, side = line
        text = f" {when:<8} {price:>6} {size:>9} "
        strip = Strip(
            [
                Segment(fit(text, min(width, len(text)), "left"), self.rich_style),
                Segment(fit(side, max(0, width - len(text)), "left"), self._style(side.lower() or "yes")),
            ],
            width,
        )
        self._cache[i] = (line, strip)
        return strip
