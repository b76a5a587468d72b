"""Watchlist tab: one live table per named group, a group switcher, add/remove/sort."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import ContentSwitcher, Static

from kalshi_tui.sparks import HOURS
from kalshi_tui.store import Changes, MarketMeta, MarketState
from kalshi_tui.ui import cells as c
from kalshi_tui.ui.cells import natural_key
from kalshi_tui.ui.grid import Cell, Column, LiveGrid
from kalshi_tui.ui.keys import WATCHLIST_BINDINGS
from kalshi_tui.ui.pane import AskAddMarket, Pane, RemoveMarket, SelectMarket, StepGroup
from kalshi_tui.ui.view import View

COLUMNS = [
    Column("ticker", "Market", 20, "left", priority=10),
    Column("title", "Title", 0, "left", priority=5, min_width=10),
    Column("last", "Last", 6, priority=9),
    Column("change", "24h", 6, priority=6),  # against previous_price_dollars: a day ago
    Column("bid", "Bid", 6, priority=9),
    Column("bid_size", "Bid sz", 7, priority=7),
    Column("ask", "Ask", 6, priority=9),
    Column("ask_size", "Ask sz", 7, priority=7),
    Column("spread", "Sprd", 4, priority=3),  # bid and ask say it too
    Column("volume", "Volume", 9, priority=2),
    Column("open_interest", "OI", 6, priority=3),
    Column("closes", "Closes", 6, priority=6),
    Column("spark", "Past 24h", HOURS, "left", priority=4),
    Column("status", "Status", 8, "left", priority=1),
    Column("age", "Age", 5, priority=8),
]
# Columns whose numeric change flashes, with the raw value's index in ``Row.raw``.
FLASHING = {2: 0, 3: 1, 4: 2, 5: 3, 6: 4, 7: 5, 9: 6}
FLASH_SECONDS = 0.6
MAX_TICKER_WIDTH = 34
SPARK_STYLES = {1: "up", -1: "down", 0: "dim"}
NO_SPARK = (" " * HOURS, 0)
#: the longest a quiet watchlist goes without looking at its clock texts (a wall clock that
#: jumps, e.g. set by NTP, moves "closes in" texts when no computed change was due)
CLOCK_RECHECK = 60.0


# The columns that move with the clock alone.
CLOSES, AGE = (next(i for i, col in enumerate(COLUMNS) if col.key == key) for key in ("closes", "age"))


def clock_cells(state: MarketState | None, age: float | None, wall: float) -> tuple[Cell, Cell, float]:
    """The time left to trade and the age of the data: the row's cells that change with the
    clock alone (coarse texts: a quiet row changes every 10 s, then every minute), and the
    seconds until either of them changes."""
    meta = state.meta if state is not None else None
    close_ts = meta.close_ts if meta is not None else None
    left = close_ts - wall if close_ts is not None else None
    # Warn in the last hour: from when the text reads in minutes ("59m"), not a second early.
    closes: Cell = (c.closes_in(left), "warn" if left is not None and 0 < left <= 3599 else "dim")
    lasts = c.closes_in_lasts(left)
    if state is not None and state.book.lost_sync:
        return closes, ("stale", "warn"), lasts
    age_cell: Cell = (c.age_text(age), "dim" if age is None or age >= 60 else "")
    return closes, age_cell, min(lasts, c.age_text_lasts(age))


class Row:
    """One market's row: what is shown, how it sorts, and the numbers behind it."""

    __slots__ = ("cells", "raw", "sort")

    def __init__(self, cells: tuple[Cell, ...], sort: tuple[Any, ...], raw: tuple[Any, ...]) -> None:
        self.cells = cells
        self.sort = sort
        self.raw = raw


def day_change(last: int | None, meta: MarketMeta | None) -> int | None:
    """The 24 h change: the last price against ``previous_price_dollars`` (a day ago)."""
    if last is None or meta is None or meta.previous_price is None:
        return None
    return last - meta.previous_price


def market_row(
    ticker: str,
    state: MarketState | None,
    age: float | None,
    wall: float = 0.0,
    spark: tuple[str, int] = NO_SPARK,
) -> Row:
    """``wall``: epoch seconds now (for "closes in"); ``spark``: the drawn sparkline and its trend."""
    key = natural_key(ticker)
    spark_cell = (spark[0], SPARK_STYLES[spark[1]])
    closes_cell, age_cell, _ = clock_cells(state, age, wall)
    if state is None:
        empty = (c.DASH, "dim")
        return Row(
            (
                (ticker, "bold"),
                ("", ""),
                *([empty] * 9),
                closes_cell,
                spark_cell,
                ("", ""),
                age_cell,
            ),
            (key, "", *([None] * 12), None),
            (None,) * 7,
        )
    book = state.book
    if book.synced:
        bid, ask, quote_style = book.yes_bid, book.yes_ask, ""
        bid_p, bid_s = (bid.price, bid.size) if bid else (None, None)
        ask_p, ask_s = (ask.price, ask.size) if ask else (None, None)
    else:
        # No trustworthy book: show the exchange's own ticker quote, dimmed, never a guess.
        k = state.last_ticker
        bid_p = k.yes_bid if k else None
        bid_s = k.yes_bid_size if k else None
        ask_p = k.yes_ask if k else None
        ask_s = k.yes_ask_size if k else None
        quote_style = "stale"
    meta = state.meta
    change = day_change(state.last_price, meta)
    spread = ask_p - bid_p if ask_p is not None and bid_p is not None else None
    oi = state.open_interest if state.open_interest is not None else (meta.open_interest if meta else None)
    close_ts = meta.close_ts if meta else None
    title = c.market_title(meta)
    chg_style = "up" if change and change > 0 else "down" if change and change < 0 else "dim"
    last_style = ""
    if state.prev_price is not None and state.last_price is not None:
        last_style = (
            "up"
            if state.last_price > state.prev_price
            else ("down" if state.last_price < state.prev_price else "")
        )
    status = state.status or (meta.status if meta else "")
    status_style = "dim" if status in ("", "active", "open") else "warn"
    cells: tuple[Cell, ...] = (
        (ticker, "bold"),
        (title, ""),
        (c.cents(state.last_price), last_style),
        (c.signed_cents(change), chg_style),
        (c.cents(bid_p), quote_style or "bid"),
        (c.contracts(bid_s), quote_style),
        (c.cents(ask_p), quote_style or "ask"),
        (c.contracts(ask_s), quote_style),
        (c.cents(spread), quote_style or "dim"),
        (c.contracts(state.volume), "dim"),
        (c.contracts(oi), "dim"),
        closes_cell,
        spark_cell,
        (status, status_style),
        age_cell,
    )
    sort = (
        key,
        title,
        state.last_price,
        change,
        bid_p,
        bid_s,
        ask_p,
        ask_s,
        spread,
        state.volume,
        oi,
        close_ts,
        spark[1] if spark[0].strip() else None,
        status,
        -state.updated if state.updated else None,  # by the last message: the order never ages
    )
    raw = (state.last_price, change, bid_p, bid_s, ask_p, ask_s, state.volume)
    return Row(cells, sort, raw)


class WatchlistPane(Pane):
    BINDINGS: ClassVar[list[BindingType]] = WATCHLIST_BINDINGS

    def __init__(self, view: View) -> None:
        super().__init__(view, id="watchlist-pane")
        self._groups = list(view.groups)
        self._grids: dict[str, LiveGrid] = {}
        self._current = view.current_group
        self._raw: dict[str, tuple[Any, ...]] = {}  # per ticker, for flash direction
        self._age_second = -1
        self._shown: tuple[int, int] | None = None  # (scroll, arrangement) last looked at
        self._clock_due = 0.0  # when a clock text on screen next changes (the app's clock)
        self.clock_passes = 0  # times the clock texts on screen were looked at: for tests
        self._dirty: set[str] = set()  # changed rows off screen, not rebuilt yet
        self._sparks_seen = -1  # the sparklines' version last drawn

    def compose(self) -> ComposeResult:
        yield Static("", id="group-bar")
        with ContentSwitcher(initial=self._grid_id(self._current), id="groups"):
            for name in self._groups:
                yield LiveGrid(
                    COLUMNS,
                    id=self._grid_id(name),
                    empty_text="No markets in this group: press a to add one.",
                )

    def _grid_id(self, group: str) -> str:
        return f"group-{self._groups.index(group)}"

    @property
    def grid(self) -> LiveGrid:
        return self.grid_for(self._current)

    def grid_for(self, group: str) -> LiveGrid:
        # Looked up once per group: the refresh tick asks for it ten times a second.
        grid = self._grids.get(group)
        if grid is None:
            grid = self._grids[group] = self.query_one(f"#{self._grid_id(group)}", LiveGrid)
        return grid

    def focus_main(self) -> None:
        self.grid.focus()

    # -- groups ----------------------------------------------------------------------------

    def show_group(self, group: str, take_focus: bool = False) -> None:
        """Show ``group``'s grid; it gets the keyboard if the old one had it or ``take_focus``."""
        if group not in self._groups:
            return
        had_focus = self.grid.has_focus
        self._current = group
        self.query_one("#groups", ContentSwitcher).current = self._grid_id(group)
        self._raw.clear()
        self.refresh_view(Changes(), self.view.clock(), full=True)
        if had_focus or take_focus:
            self.grid.focus()

    async def add_group(self, group: str) -> None:
        self._groups.append(group)
        await self.query_one("#groups", ContentSwitcher).mount(
            LiveGrid(
                COLUMNS, id=self._grid_id(group), empty_text="No markets in this group: press a to add one."
            )
        )

    def _render_group_bar(self) -> None:
        bar = Text(no_wrap=True, overflow="ellipsis")
        for name in self._groups:
            count = len(self.view.groups.get(name, ()))
            label = f" {name} ({count}) "
            bar.append(label, style="reverse bold" if name == self._current else "")
            bar.append(" ")
        bar.append("  , . switch group", style="dim")
        self.query_one("#group-bar", Static).update(bar)

    # -- refresh ---------------------------------------------------------------------------

    def refresh_view(self, changes: Changes, now: float, full: bool) -> None:
        grid = self.grid
        with grid.batch():
            self._refresh_rows(grid, changes, now, full)
        if full and self.view.selected in self.view.groups.get(self._current, []):
            grid.move_cursor_to(self.view.selected)

    def _refresh_rows(self, grid: LiveGrid, changes: Changes, now: float, full: bool) -> None:
        view = self.view
        tickers = view.groups.get(self._current, [])
        moved: set[str] = set()
        if full:
            self._render_group_bar()
            # Tickers are the identity of a row: size the column to show them whole.
            grid.set_column_width(0, min(MAX_TICKER_WIDTH, max([10, *map(len, tickers)])))
            grid.set_order(tickers)
            self._dirty.clear()
            todo: set[str] | list[str] = tickers
        elif changes.metadata or view.sparks.version != self._sparks_seen:
            todo = tickers
        else:
            if changes.markets or changes.books:
                moved = (changes.markets | changes.books) & set(tickers)
            # What is on screen changes with the scroll position, the order and the size.
            shown = (int(grid.scroll_y), grid.arrangement)
            if grid.sort_column is not None:
                todo = set(moved)  # the order depends on every row's values
            elif moved or (self._dirty and shown != self._shown):
                # Rows off screen wait until they are scrolled in: a 500-market group under a
                # firehose would otherwise rebuild hundreds of unseen rows every tick.
                self._dirty |= moved
                todo = self._dirty & set(grid.visible_keys())
                self._dirty -= todo
            else:
                todo = set()  # a quiet tick: nothing to look at
            second = int(now)
            if shown != self._shown or (second != self._age_second and now >= self._clock_due):
                # Ages and "closes in" move with the clock: repaint the rows on screen whose
                # clock texts changed, at most once a second, and only when one is due (a
                # dozing screen whose ages read "10s" and "2m" skips this work for seconds).
                self._age_second, self._shown = second, shown
                self.clock_passes += 1
                visible = set(grid.visible_keys())
                lasts = self._repaint_clocks(visible - set(todo), now)
                self._clock_due = now + min(lasts, CLOCK_RECHECK)
        if todo:
            # Rebuilt rows' clock texts are fresh; when they next change is found next second.
            self._clock_due = min(self._clock_due, int(now) + 1)
        store, sparks = view.store, view.sparks
        self._sparks_seen = sparks.version
        flash = view.flash and not full
        wall = view.wall_clock()
        for ticker in todo:
            state = store.markets.get(ticker)
            age = store.age(ticker, now)
            row = market_row(ticker, state, age, wall, sparks.draw(ticker, int(wall)))
            old = self._raw.get(ticker)
            self._raw[ticker] = row.raw
            grid.set_row(ticker, row.cells, row.sort)
            # Flash only what moved this tick (not a backlog row scrolled into view).
            if flash and ticker in moved and old is not None and old != row.raw:
                for col, i in FLASHING.items():
                    a, b = old[i], row.raw[i]
                    if a is not None and b is not None and a != b:
                        grid.flash(ticker, col, b > a, now + FLASH_SECONDS)
        grid.tick(now)

    def _repaint_clocks(self, tickers: set[str], now: float) -> float:
        """The age and time left of rows whose data did not change: only those two cells.
        Returns the seconds until one of them changes again."""
        store, wall, grid = self.view.store, self.view.wall_clock(), self.grid
        markets = store.markets
        due = math.inf
        for ticker in tickers:
            cells = grid.cells(ticker)
            if cells is None or len(cells) <= AGE:
                continue
            closes, age, lasts = clock_cells(markets.get(ticker), store.age(ticker, now), wall)
            due = min(due, lasts)
            if cells[CLOSES] != closes or cells[AGE] != age:
                row = list(cells)
                row[CLOSES], row[AGE] = closes, age
                grid.set_row(ticker, row)
        return due

    # -- actions ---------------------------------------------------------------------------

    @on(LiveGrid.Highlighted)
    def _highlighted(self, event: LiveGrid.Highlighted) -> None:
        if isinstance(event, LiveGrid.Selected):
            return
        self.post_message(SelectMarket(event.key))

    @on(LiveGrid.Selected)
    def _selected(self, event: LiveGrid.Selected) -> None:
        self.post_message(SelectMarket(event.key, show_depth=True))

    def action_add_market(self) -> None:
        self.post_message(AskAddMarket())

    def action_remove_market(self) -> None:
        key = self.grid.cursor_key
        if key is not None:
            self.post_message(RemoveMarket(key, self._current))

    def action_cycle_sort(self) -> None:
        # Rows waiting off screen must be current before they can be ordered.
        self.refresh_view(Changes(), self.view.clock(), full=True)
        label = self.grid.cycle_sort()
        self.notify(f"Sorted by {label}", timeout=1.5)

    def action_reverse_sort(self) -> None:
        grid = self.grid
        grid.sort_by(grid.sort_column, not grid.sort_reverse)

    def action_step_group(self, step: int) -> None:
        self.post_message(StepGroup(step))
