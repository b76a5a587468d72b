"""Depth tab: the selected market's YES and NO bid ladders side by side.

The ladder is a Line-API widget: each screen line is computed from the book as a small
tuple; only lines whose tuple changed are re-rendered and repainted, so a delta at one
price level repaints one line (plus the bars, when the largest size changes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from kalshi_tui.account import RestingOrder
from kalshi_tui.book import NO, YES, DepthLevel, OrderBook
from kalshi_tui.numbers import ONE_DOLLAR
from kalshi_tui.store import Changes
from kalshi_tui.ui import cells as c
from kalshi_tui.ui.grid import fit
from kalshi_tui.ui.keys import DEPTH_BINDINGS
from kalshi_tui.ui.pane import Pane
from kalshi_tui.ui.view import View

#: (label, group size in 1/10,000 dollar); 0 = the market's own tick
GROUPINGS = (("tick", 0), ("1¢", 100), ("5¢", 500))
_BLOCKS = " ▏▎▍▌▋▊▉█"
#: least widths of the price, size and cumulative columns; each widens to its widest value
MIN_WIDTHS = (7, 9, 10)


def numbers_width(widths: tuple[int, int, int]) -> int:
    """Cells of " price size cum " before the bar."""
    return sum(widths) + 4


#: (yes level, no level, yes bar, no bar, synced, your resting size at the yes level, at the no)
LineData = tuple[DepthLevel | None, DepthLevel | None, int, int, bool, int, int]
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
        if group > 1:
            price -= price % group
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
    """Two ladders in one widget so a line covers both sides and repaints as one."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "ladder--header",
        "ladder--yes",
        "ladder--no",
        "ladder--dim",
        "ladder--stale",
        "ladder--mine",
    }

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[LineData] = []
        self._cache: dict[int, tuple[LineData, Strip]] = {}
        self._styles: dict[str, Style] = {}
        self.synced = True
        self.lines_rendered = 0
        self._book: OrderBook | None = None
        self._group = 0
        self._mine: Mapping[tuple[str, int], int] = {}
        self._widths = MIN_WIDTHS

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._cache.clear()

    def on_resize(self) -> None:
        # Level count and bar width depend on the size: recompute, then repaint all.
        self._cache.clear()
        self.show_book(self._book, self._group, self._mine)
        self.refresh()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = (
                self.rich_style
                if not name
                else self.rich_style + self.get_component_rich_style(f"ladder--{name}", partial=True)
            )
            self._styles[name] = style
        return style

    def show_book(
        self, book: OrderBook | None, group: int, mine: Mapping[tuple[str, int], int] | None = None
    ) -> None:
        """``mine``: your resting size per (side, level price), from ``own_levels``."""
        mine = mine or {}
        self._book, self._group, self._mine = book, group, mine
        rows = max(0, self.size.height - 1)
        if book is None:
            yes: list[DepthLevel] = []
            no: list[DepthLevel] = []
        else:
            yes = book.depth(YES, rows or None, group)
            no = book.depth(NO, rows or None, group)
        biggest = max((lv.size for lv in (*yes, *no)), default=0)
        widths = self._column_widths([*yes, *no])
        half = max(0, (self.size.width - 1) // 2)
        bar_width = max(0, half - numbers_width(widths))
        synced = book is None or book.synced
        lines: list[LineData] = []
        for i in range(max(len(yes), len(no))):
            y = yes[i] if i < len(yes) else None
            n = no[i] if i < len(no) else None
            lines.append(
                (
                    y,
                    n,
                    bar_eighths(y.size, biggest, bar_width) if y else 0,
                    bar_eighths(n.size, biggest, bar_width) if n else 0,
                    synced,
                    mine.get((YES, y.price), 0) if y else 0,
                    mine.get((NO, n.price), 0) if n else 0,
                )
            )
        old = self._lines
        self._lines = lines
        if synced != self.synced or widths != self._widths:
            self.synced = synced
            self._widths = widths
            self._cache.clear()
            self.refresh()
            return
        # Repaint only the lines whose content moved (a tuple compare per line).
        for i in range(max(len(old), len(lines))):
            before = old[i] if i < len(old) else None
            after = lines[i] if i < len(lines) else None
            if before != after:
                self.refresh(Region(0, i + 1, self.size.width, 1))

    @staticmethod
    def _column_widths(levels: list[DepthLevel]) -> tuple[int, int, int]:
        """Each numeric column as wide as its widest value: a big size is never cut."""
        price, size, cum = MIN_WIDTHS
        for lv in levels:
            price = max(price, cell_len(c.cents(lv.price)))
            size = max(size, cell_len(c.contracts(lv.size)))
            cum = max(cum, cell_len(c.contracts(lv.cumulative)))
        return price, size, cum

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        half = (width - 1) // 2
        if y == 0:
            return self._header(width, half)
        i = y - 1
        if i >= len(self._lines):
            return Strip.blank(width, self._style(""))
        data = self._lines[i]
        cached = self._cache.get(i)
        if cached is not None and cached[0] == data:
            return cached[1]
        self.lines_rendered += 1
        yes, no, yes_bar, no_bar, synced, mine_yes, mine_no = data
        left = self._half(yes, yes_bar, half, "yes" if synced else "stale", mine_yes)
        right = self._half(no, no_bar, width - half - 1, "no" if synced else "stale", mine_no)
        strip = Strip([*left, Segment("│", self._style("dim")), *right], width)
        self._cache[i] = (data, strip)
        return strip

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

    def _header(self, width: int, half: int) -> Strip:
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
        self._orders_shown: object = None

    def compose(self) -> ComposeResult:
        yield Static("", id="depth-title", markup=False)
        yield Static("", id="depth-stats", markup=False)
        yield Static("", id="depth-banner", markup=False)
        yield DepthLadder(id="ladder")

    def focus_main(self) -> None:
        self.query_one("#ladder", DepthLadder).focus()

    def _set(self, wid: str, text: str) -> None:
        if self._shown.get(wid) != text:
            self._shown[wid] = text
            self.query_one(f"#{wid}", Static).update(text)

    def refresh_view(self, changes: Changes, now: float, full: bool) -> None:
        view = self.view
        ticker = view.selected
        orders = view.account.orders
        if (
            not full
            and ticker not in changes.books
            and ticker not in changes.markets
            and orders is self._orders_shown
        ):
            return
        self._orders_shown = orders
        ladder = self.query_one("#ladder", DepthLadder)
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

    def action_cycle_grouping(self) -> None:
        self.grouping = (self.grouping + 1) % len(GROUPINGS)
        self.notify(f"Depth grouped by {GROUPINGS[self.grouping][0]}", timeout=1.5)
        self.refresh_view(Changes(), self.view.clock(), full=True)


def _mid_text(book: OrderBook) -> str:
    mid = book.mid
    return c.DASH if mid is None or mid >= ONE_DOLLAR else c.cents(mid)
