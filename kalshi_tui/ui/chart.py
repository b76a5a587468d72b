"""The price chart screen (``c``): the selected market's candles at 1m / 1h / 1d with volume.

The pane asks the app for candles with a message (``AskCandles``); the app fetches them through
the REST budget, keeps them in the View's ``ChartHistory`` and extends them live from trades.
The chart is a Line-API widget drawn with block characters: each screen line is a small
tuple, and only lines whose tuple changed are rendered and repainted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.message import Message
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from kalshi_tui.candles import (
    BLANK,
    DOWN,
    TIMEFRAMES,
    UP,
    WICK_DOWN,
    WICK_UP,
    Candle,
    candle_cells,
    price_at_row,
    price_range,
    volume_cell,
    volume_eighths,
)
from kalshi_tui.store import Changes
from kalshi_tui.ui import cells as c
from kalshi_tui.ui.footer import KeyFooter
from kalshi_tui.ui.grid import fit
from kalshi_tui.ui.live_text import LiveText
from kalshi_tui.ui.pane import Pane
from kalshi_tui.ui.styles import ComponentStyles
from kalshi_tui.ui.view import View

AXIS = 9  # cells of the price axis on the right
ASK_AGAIN = 30.0  # s before asking again for candles that failed or are still coming
REFETCH = 300.0  # s: candles on screen are fetched again this often (trades missed while the
#                  market was not selected, corrections): one REST call per 5 minutes

CHART_BINDINGS: list[BindingType] = [
    Binding("t", "cycle_timeframe", "Timeframe 1m/1h/1d", id="chart-timeframe"),
    Binding("escape,c", "close", "Back", id="chart-close"),
]

_KIND_STYLE = {UP: "up", DOWN: "down", WICK_UP: "up", WICK_DOWN: "down", BLANK: ""}
_TIME_FORMAT = {1: "%H:%M", 60: "%m-%d %H:%M", 1440: "%Y-%m-%d"}


class AskCandles(Message):
    """The chart needs ``ticker``'s candles of ``minutes`` each, ``count`` of them."""

    def __init__(self, ticker: str, minutes: int, count: int) -> None:
        super().__init__()
        self.ticker = ticker
        self.minutes = minutes
        self.count = count


#: one screen line: its runs of (text, style name)
Line = tuple[tuple[str, str], ...]


def _runs(cells: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Merge neighbouring cells of one style into one run: fewer segments, fewer bytes."""
    out: list[tuple[str, str]] = []
    for char, style in cells:
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + char, style)
        else:
            out.append((char, style))
    return out


def chart_lines(candles: Sequence[Candle], minutes: int, width: int, height: int) -> list[Line]:
    """Every line of the chart below its header: price rows, volume rows, the time axis."""
    if height < 4 or width <= AXIS + 1:
        return []
    columns = width - AXIS
    shown = list(candles)[-columns:]
    volume_rows = max(1, height // 5)
    price_rows = height - volume_rows - 1
    if not shown:
        return []
    lo, hi = price_range(shown)
    cols = [candle_cells(k, lo, hi, price_rows) for k in shown]
    pad = columns - len(shown)  # the newest candle sits at the right edge
    lines: list[Line] = []
    labels = {price_rows - 1: hi, price_rows // 2: price_at_row(price_rows // 2, lo, hi, price_rows), 0: lo}
    for r in range(price_rows - 1, -1, -1):
        cells = [(" ", "")] * pad + [(col[r][0], _KIND_STYLE[col[r][1]]) for col in cols]
        label = f" {c.cents(labels[r])}" if r in labels else ""
        lines.append((*_runs(cells), (fit(label, AXIS, "left"), "axis")))
    biggest = max(k.volume for k in shown)
    heights = [volume_eighths(k.volume, biggest, volume_rows) for k in shown]
    for r in range(volume_rows - 1, -1, -1):
        cells = [(" ", "")] * pad + [(volume_cell(h, r), "volume") for h in heights]
        label = f" {c.contracts(biggest)}" if r == volume_rows - 1 else (" vol" if r == 0 else "")
        lines.append((*_runs(cells), (fit(label, AXIS, "left"), "axis")))
    fmt = _TIME_FORMAT.get(minutes, "%m-%d %H:%M")
    first = time.strftime(fmt, time.localtime(shown[0].end_ts))
    last = time.strftime(fmt, time.localtime(shown[-1].end_ts))
    gap = max(1, columns - pad - len(first) - len(last))
    lines.append(((fit(" " * pad + first + " " * gap + last, width, "left"), "axis"),))
    return lines


def _cells(line: Line | None, width: int) -> list[tuple[str, str]]:
    out = [(ch, style) for text, style in (line or ()) for ch in text]
    return out + [(" ", "")] * (width - len(out))


def changed_span(before: Line | None, after: Line | None, width: int) -> tuple[int, int]:
    """The cells [x0, x1) where two versions of a line differ (the whole line if unknown)."""
    if before is None or after is None:
        return 0, width
    a, b = _cells(before, width), _cells(after, width)
    if len(a) != len(b):
        return 0, width
    x0 = next((x for x in range(len(a)) if a[x] != b[x]), len(a))
    x1 = next((x + 1 for x in range(len(a) - 1, -1, -1) if a[x] != b[x]), x0)
    return x0, max(x1, x0 + 1)


def header_text(candles: Sequence[Candle], label: str) -> str:
    if not candles:
        return f" {label} candles"
    lo, hi = min(k.low for k in candles), max(k.high for k in candles)
    volume = sum(k.volume for k in candles)
    return (
        f" {label}: {len(candles)} candles   last {c.cents(candles[-1].close)}   high {c.cents(hi)}"
        f"   low {c.cents(lo)}   volume {c.contracts(volume)}"
    )


class PriceChart(Widget, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "chart--header",
        "chart--up",
        "chart--down",
        "chart--volume",
        "chart--axis",
        "chart--note",
    }

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._candles: Sequence[Candle] = ()
        self._minutes = 60
        self._header = ""
        self._note = ""
        self._lines: list[Line] = []
        self._cache: dict[int, tuple[Line, Strip]] = {}
        self._style = ComponentStyles(self, "chart")
        self.lines_rendered = 0

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style.clear()
        self._cache.clear()

    def on_resize(self) -> None:
        self._cache.clear()
        self.show(self._candles, self._minutes, self._note)
        self.refresh()

    def show(self, candles: Sequence[Candle], minutes: int, note: str = "") -> None:
        """Draw ``candles`` (oldest first); the header sums up the ones that fit, or says
        ``note`` (what is missing) when there are none."""
        self._candles, self._minutes, self._note = candles, minutes, note
        shown = candles[-max(1, self.size.width - AXIS) :] if candles else ()
        label = next((k for k, _, m, _ in TIMEFRAMES if m == minutes), "")
        header = header_text(shown, label) if shown else note
        if header != self._header:
            self._header = header
            self.refresh(Region(0, 0, self.size.width, 1))
        lines = chart_lines(candles, minutes, self.size.width, self.size.height - 1)
        old, self._lines = self._lines, lines
        width = self.size.width
        for i in range(max(len(old), len(lines))):
            before = old[i] if i < len(old) else None
            after = lines[i] if i < len(lines) else None
            if before != after:
                # Only the cells that changed: a trade moves the newest candle at the right
                # edge, and the terminal is sent just that part of the line.
                x0, x1 = changed_span(before, after, width)
                self.refresh(Region(x0, i + 1, x1 - x0, 1))

    def text(self) -> list[str]:
        """What the chart shows, as plain lines (for tests)."""
        return [self.render_line(y).text for y in range(self.size.height)]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            return Strip([Segment(fit(self._header, width, "left"), self._style("header"))], width)
        i = y - 1
        if i >= len(self._lines):
            return Strip.blank(width, self._style(""))
        line = self._lines[i]
        cached = self._cache.get(i)
        if cached is not None and cached[0] == line:
            return cached[1]
        self.lines_rendered += 1
        strip = Strip([Segment(text, self._style(style)) for text, style in line], width)
        self._cache[i] = (line, strip)
        return strip


class ChartPane(Pane):
    def __init__(self, view: View) -> None:
        super().__init__(view, id="chart-pane")
        self.timeframe = 1  # index into TIMEFRAMES: 1h by default
        self._key: object = None
        self._asked: dict[tuple[str, int], float] = {}

    def compose(self) -> ComposeResult:
        yield LiveText("", id="chart-title", markup=False)
        yield PriceChart(id="chart")

    @property
    def chart(self) -> PriceChart:
        return self.query_one(PriceChart)

    def focus_main(self) -> None:
        self.chart.focus()

    def refresh_view(self, changes: Changes, now: float, full: bool) -> None:
        view = self.view
        ticker = view.selected
        _, label, minutes, count = TIMEFRAMES[self.timeframe]
        charts = view.charts
        series = charts.get(ticker, minutes) if ticker else None
        if series is not None and now - series.fetched_at > REFETCH:
            self._maybe_ask(ticker, minutes, count, now)  # type: ignore[arg-type]
        key = (ticker, self.timeframe, charts.version)
        if not full and key == self._key:
            return
        self._key = key
        if ticker is None:
            self.query_one("#chart-title", Static).update("No market selected: pick one on the watchlist.")
            self.chart.show((), minutes, "")
            return
        state = view.store.markets.get(ticker)
        title = c.market_title(state.meta) if state else ""
        frames = "  ".join(f"[{k}]" if i == self.timeframe else k for i, (k, *_) in enumerate(TIMEFRAMES))
        self.query_one("#chart-title", Static).update(f"{ticker}  {title}   {frames}  (t)")
        if series is None or not series.candles:
            self._maybe_ask(ticker, minutes, count, now)
            problem = charts.errors.get((ticker, minutes))
            if series is not None:
                problem = f"No {label} candles for this market yet."
            self.chart.show((), minutes, f" {problem or f'Loading the {label} candles…'}")
            return
        self.chart.show(list(series.candles), minutes)

    def _maybe_ask(self, ticker: str, minutes: int, count: int, now: float) -> None:
        asked = self._asked.get((ticker, minutes))
        if asked is not None and now - asked < ASK_AGAIN:
            return
        self._asked[(ticker, minutes)] = now
        # Straight to the app: this may run inside the app's tick, whose pump is busy.
        self.app.post_message(AskCandles(ticker, minutes, count))

    def action_cycle_timeframe(self) -> None:
        self.timeframe = (self.timeframe + 1) % len(TIMEFRAMES)
        self.refresh_view(Changes(), self.view.clock(), full=True)


class ChartScreen(Screen[None]):
    """The selected market's price chart, over the tabs; ``[`` and ``]`` still step markets."""

    BINDINGS: ClassVar[list[BindingType]] = CHART_BINDINGS

    def __init__(self, view: View) -> None:
        super().__init__(id="chart-screen")
        self.view = view

    def compose(self) -> ComposeResult:
        yield ChartPane(self.view)
        yield KeyFooter()

    @property
    def pane(self) -> ChartPane:
        return self.query_one(ChartPane)

    def on_mount(self) -> None:
        self.pane.refresh_view(Changes(), self.view.clock(), full=True)
        self.pane.focus_main()

    def action_cycle_timeframe(self) -> None:
        self.pane.action_cycle_timeframe()

    def action_close(self) -> None:
        self.dismiss()
