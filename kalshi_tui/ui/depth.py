"""Depth tab: the selected market's book, as Kalshi's YES ladder or as raw YES / NO bids.

The ladder is a Line-API widget: each screen line is computed from the book as a small
tuple; only lines whose tuple changed are re-rendered and repainted, so a delta at one
price level repaints one line (plus the bars, when the largest size changes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from kalshi_tui.account import RestingOrder
from kalshi_tui.book import NO, YES, DepthLevel, OrderBook
from kalshi_tui.ladder import ASK, SPREAD, bucket, yes_ladder
from kalshi_tui.numbers import ONE_DOLLAR
from kalshi_tui.store import Changes
from kalshi_tui.ui import cells as c
from kalshi_tui.ui.grid import fit
from kalshi_tui.ui.keys import DEPTH_BINDINGS
from kalshi_tui.ui.live_text import LiveText
from kalshi_tui.ui.pane import Pane
from kalshi_tui.ui.styles import ComponentStyles
from kalshi_tui.ui.tape import MIN_TERMINAL_WIDTH, TradeTape
from kalshi_tui.ui.view import View

#: (label, group size in 1/10,000 dollar); 0 = the market's own tick
GROUPINGS = (("tick", 0), ("1¢", 100), ("5¢", 500))
_BLOCKS = " ▏▎▍▌▋▊▉█"
#: least widths of the price, size and cumulative columns; each widens to its widest value
MIN_WIDTHS = (7, 9, 10)


def numbers_width(widths: tuple[int, int, int]) -> int:
    """Cells of " price size cum " before the bar."""
    return sum(widths) + 4


MINE = "●"  # marks a level where one of your own orders rests


def own_levels(orders: Iterable[RestingOrder] | None, ticker: str, group: int) -> dict[tuple[str, int], int]:
    """Your resting orders on ``ticker`` as (book side, level price) -> size. A bid rests on
    its own side at its own price; an ask on one side rests as a bid on the other side at
    the complement (selling YES at p is a NO bid at 1 - p). Grouped like the ladder."""
    out: dict[tuple[str, int], int] = {}
    for o in orders or ():
        if o.ticker != ticker or o.status != "resting" or o.remaining <= 0:
            continue
        if o.book_side == "ask":
            side, price = (NO if o.side == YES else YES), ONE_DOLLAR - o.price
        else:
            side, price = o.side, o.price
        price = bucket(price, group)
        out[(side, price)] = out.get((side, price), 0) + o.remaining
    return out


def bar_eighths(size: int, biggest: int, width: int) -> int:
    """Bar length in eighths of a cell, ``width`` cells at ``biggest`` (at least one eighth)."""
    if width <= 0 or biggest <= 0 or size <= 0:
        return 0
    return max(1, round(size * width * 8 / biggest))


def bar_text(eighths: int) -> str:
    full, part = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[part] if part else "")


class DepthLadder(Widget, can_focus=True):
    """The selected market's book on one Line-API widget, in one of two views:

    - the YES ladder (default), as Kalshi shows it: asks (the NO bids turned over) above,
      the spread, bids below;
    - the raw view: YES bids and NO bids side by side, as the exchange sends them.

    A cursor moves through the rows and the view scrolls to keep it on screen. Scrolling is
    anchored on the spread row (the top row in the raw view), so a level appearing far from
    the spread repaints only the lines between it and the edge.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "ladder--header",
        "ladder--yes",
        "ladder--no",
        "ladder--dim",
        "ladder--stale",
        "ladder--mine",
        "ladder--cursor",
    }

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[tuple[object, ...]] = []  # every content row, top to bottom
        self._origin = 0  # index in _rows of the spread row (raw view: 0)
        self._lines: list[tuple[object, ...]] = []  # what each body line shows (row + cursor flag)
        self._cache: dict[int, tuple[tuple[object, ...], Strip]] = {}
        self._style = ComponentStyles(self, "ladder")
        self.synced = True
        self.lines_rendered = 0
        self._book: OrderBook | None = None
        self._group = 0
        self._mine: Mapping[tuple[str, int], int] = {}
        self._widths = MIN_WIDTHS
        self.raw = False
        self.cursor = 0  # rows from the origin (ladder: -1 is the best ask, 1 the best bid)
        self._anchor: int | None = None  # body line the origin is drawn on; None: the default

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style.clear()
        self._cache.clear()

    def on_resize(self) -> None:
        # Bar width depends on the size: recompute, then repaint all.
        self._cache.clear()
        self.show_book(self._book, self._group, self._mine)
        self.refresh()

    # -- the model ---------------------------------------------------------------------------

    @property
    def body_height(self) -> int:
        return max(0, self.size.height - 1)

    def set_raw(self, raw: bool) -> None:
        """Switch views; the cursor goes back to the spread (raw: the top)."""
        if raw != self.raw:
            self.raw = raw
            self.cursor = 0
            self._anchor = None
            self._cache.clear()
            self.show_book(self._book, self._group, self._mine)
            self.refresh()

    def show_book(
        self, book: OrderBook | None, group: int, mine: Mapping[tuple[str, int], int] | None = None
    ) -> None:
        """``mine``: your resting size per (side, level bucket), from ``own_levels``."""
        mine = mine or {}
        self._book, self._group, self._mine = book, group, mine
        synced = book is None or book.synced
        if self.raw:
            widths = self._raw_rows(book, group, mine, synced)
        else:
            widths = self._ladder_rows(book, group, mine, synced)
        if synced != self.synced or widths != self._widths:
            self.synced = synced
            self._widths = widths
            self._cache.clear()
            self._layout()
            self.refresh()
            return
        self._layout(repaint=True)

    def _ladder_rows(
        self, book: OrderBook | None, group: int, mine: Mapping[tuple[str, int], int], synced: bool
    ) -> tuple[int, int, int]:
        rows, origin = yes_ladder(book, group)
        widths = self._column_widths([(r.price, r.size, r.cumulative) for r in rows if r.kind != SPREAD])
        biggest = max((r.size for r in rows), default=0)
        bar_width = max(0, self.size.width - numbers_width(widths))
        self._rows = [
            (
                r.kind,
                r.price,
                r.size,
                r.cumulative,
                bar_eighths(r.size, biggest, bar_width),
                synced,
                mine.get((r.side, bucket(r.book_price, group)), 0) if r.kind != SPREAD else 0,
            )
            for r in rows
        ]
        self._origin = origin
        return widths

    def _raw_rows(
        self, book: OrderBook | None, group: int, mine: Mapping[tuple[str, int], int], synced: bool
    ) -> tuple[int, int, int]:
        yes = book.depth(YES, None, group) if book is not None else []
        no = book.depth(NO, None, group) if book is not None else []
        biggest = max((lv.size for lv in (*yes, *no)), default=0)
        widths = self._column_widths([(lv.price, lv.size, lv.cumulative) for lv in (*yes, *no)])
        half = max(0, (self.size.width - 1) // 2)
        bar_width = max(0, half - numbers_width(widths))
        rows: list[tuple[object, ...]] = []
        for i in range(max(len(yes), len(no))):
            y = yes[i] if i < len(yes) else None
            n = no[i] if i < len(no) else None
            rows.append(
                (
                    y,
                    n,
                    bar_eighths(y.size, biggest, bar_width) if y else 0,
                    bar_eighths(n.size, biggest, bar_width) if n else 0,
                    synced,
                    mine.get((YES, bucket(y.price, group)), 0) if y else 0,
                    mine.get((NO, bucket(n.price, group)), 0) if n else 0,
                )
            )
        self._rows, self._origin = rows, 0
        return widths

    def _layout(self, repaint: bool = False) -> None:
        """Cut the visible window out of the rows; with ``repaint``, repaint lines that moved."""
        lo, hi = -self._origin, max(0, len(self._rows) - 1 - self._origin)
        self.cursor = min(max(self.cursor, lo), hi)
        body = self.body_height
        anchor = self.anchor
        pos = anchor + self.cursor
        if body > 0 and not 0 <= pos < body:
            # Scroll just enough to keep the cursor on screen; from now on the view stays put.
            anchor -= pos if pos < 0 else pos - body + 1
            self._anchor = anchor
        first = self._origin - anchor
        at = self._origin + self.cursor
        lines: list[tuple[object, ...]] = []
        for i in range(first, first + body):
            if 0 <= i < len(self._rows):
                lines.append((*self._rows[i], i == at))
            else:
                lines.append(())
        old, self._lines = self._lines, lines
        if repaint:
            # Repaint only the lines whose content moved (a tuple compare per line).
            for i in range(max(len(old), len(lines))):
                if (old[i] if i < len(old) else None) != (lines[i] if i < len(lines) else None):
                    self.refresh(Region(0, i + 1, self.size.width, 1))

    @property
    def anchor(self) -> int:
        if self._anchor is not None:
            return self._anchor
        return 0 if self.raw else self.body_height // 2

    def move_cursor(self, rows: int) -> None:
        self.cursor += rows
        self._layout(repaint=True)

    def reset_cursor(self) -> None:
        """Cursor on the spread, drawn where it is by default; takes effect at the next book."""
        self.cursor = 0
        self._anchor = None

    def cursor_home(self) -> None:
        """Back to the spread, drawn mid-screen (raw view: the top)."""
        self.reset_cursor()
        self._layout(repaint=True)

    def cursor_row(self) -> tuple[object, ...] | None:
        i = self._origin + self.cursor
        return self._rows[i] if 0 <= i < len(self._rows) else None

    @staticmethod
    def _column_widths(levels: list[tuple[int, int, int]]) -> tuple[int, int, int]:
        """Each numeric column as wide as its widest value: a big size is never cut."""
        price, size, cum = MIN_WIDTHS
        for p, s, cu in levels:
            price = max(price, cell_len(c.cents(p)))
            size = max(size, cell_len(c.contracts(s)))
            cum = max(cum, cell_len(c.contracts(cu)))
        return price, size, cum

    # -- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        half = (width - 1) // 2
        if y == 0:
            return self._raw_header(width, half) if self.raw else self._ladder_header(width)
        i = y - 1
        data = self._lines[i] if i < len(self._lines) else ()
        if not data:
            return Strip.blank(width, self._style(""))
        cached = self._cache.get(i)
        if cached is not None and cached[0] == data:
            return cached[1]
        self.lines_rendered += 1
        strip = self._raw_line(data, width, half) if self.raw else self._ladder_line(data, width)
        if data[-1]:  # the cursor's row
            strip = strip.apply_style(self._style("cursor"))
        self._cache[i] = (data, strip)
        return strip

    def _ladder_line(self, data: tuple[object, ...], width: int) -> Strip:
        kind, price, size, cum, eighths, synced, mine, _ = data
        if kind == SPREAD:
            assert isinstance(price, int)
            text = f" spread {c.cents(price)} " if price >= 0 else " no spread: one side is empty "
            line = f"──{text}"
            line = (
                fit(line, width, "left") if cell_len(line) >= width else line + "─" * (width - cell_len(line))
            )
            return Strip([Segment(line, self._style("dim"))], width)
        colour = ("no" if kind == ASK else "yes") if synced else "stale"
        level = DepthLevel(price, size, cum)  # type: ignore[arg-type]
        return Strip(self._half(level, eighths, width, colour, mine), width)  # type: ignore[arg-type]

    def _raw_line(self, data: tuple[object, ...], width: int, half: int) -> Strip:
        yes, no, yes_bar, no_bar, synced, mine_yes, mine_no, _ = data
        left = self._half(yes, yes_bar, half, "yes" if synced else "stale", mine_yes)  # type: ignore[arg-type]
        right = self._half(no, no_bar, width - half - 1, "no" if synced else "stale", mine_no)  # type: ignore[arg-type]
        return Strip([*left, Segment("│", self._style("dim")), *right], width)

    def _half(
        self, level: DepthLevel | None, eighths: int, width: int, colour: str, mine: int = 0
    ) -> list[Segment]:
        if level is None or width <= 0:
            return [Segment(" " * max(0, width), self._style(""))]
        wp, ws, wc = self._widths
        text = (
            f"{MINE if mine else ' '}{fit(c.cents(level.price), wp, 'right')}"
            f" {fit(c.contracts(level.size), ws, 'right')} {fit(c.contracts(level.cumulative), wc, 'right')} "
        )
        text = fit(text, min(width, numbers_width(self._widths)), "left")
        numbers = "stale" if colour == "stale" else ""
        # Your own order's mark in its own colour; otherwise one segment, as few bytes as before.
        head = [Segment(text[:1], self._style("mine")), Segment(text[1:], self._style(numbers))]
        return [
            *(head if mine else [Segment(text, self._style(numbers))]),
            Segment(fit(bar_text(eighths), max(0, width - len(text)), "left"), self._style(colour)),
        ]

    def _ladder_header(self, width: int) -> Strip:
        wp, ws, wc = self._widths
        cols = f" {'Price':>{wp}} {'Size':>{ws}} {'Cum':>{wc}} "
        text = fit(cols + "YES: asks (NO bids) above, bids below", width, "left")
        return Strip([Segment(text, self._style("header"))], width)

    def _raw_header(self, width: int, half: int) -> Strip:
        style = self._style("header")
        wp, ws, wc = self._widths
        cols = f" {'Price':>{wp}} {'Size':>{ws}} {'Cum':>{wc}} "
        left = fit(cols + "YES bids", half, "left")
        right = fit(cols + "NO bids", width - half - 1, "left")
        return Strip([Segment(left, style), Segment("│", style), Segment(right, style)], width)


class DepthPane(Pane):
    BINDINGS: ClassVar[list[BindingType]] = DEPTH_BINDINGS

    def __init__(self, view: View) -> None:
        super().__init__(view, id="depth-pane")
        self.grouping = 0  # index into GROUPINGS
        self._shown: dict[str, str] = {}
        self._tape_for: tuple[str | None, int, int] | None = None
        self._ladder_for: str | None = None

    def compose(self) -> ComposeResult:
        yield LiveText("", id="depth-title", markup=False)
        yield LiveText("", id="depth-stats", markup=False)
        yield LiveText("", id="depth-banner", markup=False)
        with Horizontal(id="depth-body"):
            yield DepthLadder(id="ladder")
            yield TradeTape(id="depth-tape")

    @property
    def ladder(self) -> DepthLadder:
        return self.query_one("#ladder", DepthLadder)

    def on_resize(self) -> None:
        self._show_tape()

    def _show_tape(self) -> bool:
        """The recent trades go beside the ladder when there is room for both."""
        tape = self.query_one("#depth-tape", TradeTape)
        wanted = self.size.width >= MIN_TERMINAL_WIDTH and not self.ladder.raw
        if tape.display != wanted:
            tape.display = wanted
            self._tape_for = None
        return wanted

    def focus_main(self) -> None:
        self.query_one("#ladder", DepthLadder).focus()

    def _set(self, wid: str, text: str) -> None:
        if self._shown.get(wid) != text:
            self._shown[wid] = text
            self.query_one(f"#{wid}", Static).update(text)

    def refresh_view(self, changes: Changes, now: float, full: bool) -> None:
        view = self.view
        ticker = view.selected
        orders = view.store.orders.values()
        self._refresh_tape(ticker, full)
        if (
            not full
            and ticker not in changes.books
            and ticker not in changes.markets
            and ticker not in changes.orders
        ):
            return
        ladder = self.query_one("#ladder", DepthLadder)
        if ticker != self._ladder_for:  # another market: its cursor starts at its spread
            self._ladder_for = ticker
            ladder.reset_cursor()
        state = view.store.markets.get(ticker) if ticker else None
        if ticker is None:
            self._set("depth-title", "No market selected: pick one in the Watchlist or press /")
            self._set("depth-stats", "")
            self.query_one("#depth-banner").display = False
            ladder.show_book(None, 0)
            return
        title = c.market_title(state.meta) if state else ""
        self._set("depth-title", f"{ticker}  {title}".rstrip())
        label, group = GROUPINGS[self.grouping]
        book = state.book if state else None
        if book is not None:
            spread = c.cents(book.spread) if book.spread is not None else c.DASH
            mid = _mid_text(book)
            bid, ask = book.yes_bid, book.yes_ask
            quote = f"YES {c.cents(bid.price) if bid else c.DASH} / {c.cents(ask.price) if ask else c.DASH}"
            levels = f"levels {len(book.yes)}/{len(book.no)}"
        else:
            spread = mid = c.DASH
            quote, levels = "YES —/—", "no book"
        last = c.cents(state.last_price) if state else c.DASH
        mine = own_levels(orders, ticker, group)
        yours = f"   {MINE} your orders" if mine else ""
        self._set(
            "depth-stats",
            f"{quote}   spread {spread}   mid {mid}   last {last}   {levels}   grouping {label} (g){yours}",
        )
        banner = self.query_one("#depth-banner", Static)
        if book is None or not book.synced:
            reason = book.stale_reason if book is not None else "no data for this market yet"
            self._set(
                "depth-banner",
                f"⚠ Book not in sync: {reason}. Showing the last known "
                "levels, dimmed, until a fresh snapshot arrives.",
            )
            banner.display = True
        else:
            banner.display = False
        ladder.show_book(book, group, mine)

    def _refresh_tape(self, ticker: str | None, full: bool) -> None:
        if not self._show_tape():
            return
        state = self.view.store.markets.get(ticker) if ticker else None
        trades = state.trades if state else ()
        newest = trades[-1] if trades else None
        key = (ticker, id(newest), len(trades))
        if full or key != self._tape_for:
            self._tape_for = key
            self.query_one("#depth-tape", TradeTape).show(trades)

    def action_toggle_raw(self) -> None:
        ladder = self.ladder
        ladder.set_raw(not ladder.raw)
        self.notify(
            "Raw book: YES bids | NO bids" if ladder.raw else "YES ladder: asks above, bids below",
            timeout=1.5,
        )
        self.refresh_view(Changes(), self.view.clock(), full=True)

    def action_cursor(self, rows: int) -> None:
        self.ladder.move_cursor(rows)

    def action_page(self, pages: int) -> None:
        ladder = self.ladder
        ladder.move_cursor(pages * max(1, ladder.body_height - 1))

    def action_cursor_home(self) -> None:
        self.ladder.cursor_home()

    def action_cycle_grouping(self) -> None:
        self.grouping = (self.grouping + 1) % len(GROUPINGS)
        self.notify(f"Depth grouped by {GROUPINGS[self.grouping][0]}", timeout=1.5)
        self.refresh_view(Changes(), self.view.clock(), full=True)


def _mid_text(book: OrderBook) -> str:
    mid = book.mid
    return c.DASH if mid is None or mid >= ONE_DOLLAR else c.cents(mid)
