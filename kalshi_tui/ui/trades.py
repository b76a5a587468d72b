"""Trades tab: live prints, newest first, for the selected market or every watched one."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from kalshi_tui.protocol.messages import Trade
from kalshi_tui.store import Changes
from kalshi_tui.ui import cells as c
from kalshi_tui.ui.grid import Cell, Column, LiveGrid
from kalshi_tui.ui.keys import TRADES_BINDINGS
from kalshi_tui.ui.live_text import LiveText
from kalshi_tui.ui.pane import Pane
from kalshi_tui.ui.view import View

MAX_ROWS = 500  # bounded: the store keeps more, a screen shows far fewer

COLUMNS = [
    Column("time", "Time", 8, "left", priority=8),
    Column("market", "Market", 0, "left", priority=10, min_width=12),
    Column("taker", "Taker", 5, "left", priority=9),
    Column("yes", "YES", 6, priority=9),
    Column("no", "NO", 6, priority=6),
    Column("count", "Count", 9, priority=9),
    Column("block", "", 5, "left", priority=2),
]


def trade_cells(t: Trade) -> tuple[Cell, ...]:
    side = "up" if t.taker_side == "yes" else "down"
    return (
        (c.clock_text(t.ts_ms), "dim"),
        (t.market_ticker, ""),
        (c.side_text(t.taker_side), side),
        (c.cents(t.yes_price), "bid" if t.taker_side == "yes" else ""),
        (c.cents(t.no_price), "ask" if t.taker_side == "no" else ""),
        (c.contracts(t.count), "bold"),
        ("block" if t.is_block_trade else "", "warn"),
    )


class TradesPane(Pane):
    BINDINGS: ClassVar[list[BindingType]] = TRADES_BINDINGS

    def __init__(self, view: View) -> None:
        super().__init__(view, id="trades-pane")
        self.all_watched = False
        self._title = ""
        self._shown_for: tuple[bool, str | None] | None = None

    def compose(self) -> ComposeResult:
        yield LiveText("", id="trades-title", markup=False)
        yield LiveGrid(COLUMNS, id="trades-grid", empty_text="No trades yet.")

    @property
    def grid(self) -> LiveGrid:
        return self.query_one("#trades-grid", LiveGrid)

    def focus_main(self) -> None:
        self.grid.focus()

    def refresh_view(self, changes: Changes, now: float, full: bool) -> None:
        view = self.view
        scope = (self.all_watched, view.selected)
        if not full and not changes.trades and scope == self._shown_for:
            return
        self._shown_for = scope
        ticker = view.selected
        if self.all_watched or ticker is None:
            watched = view.watched
            source = [t for t in reversed(view.store.trades) if t.market_ticker in watched]
            title = "Trades: all watched markets (m: selected market only)"
        else:
            state = view.store.markets.get(ticker)
            source = list(reversed(state.trades)) if state else []
            title = f"Trades: {ticker} (m: all watched markets)"
        if title != self._title:
            self._title = title
            self.query_one("#trades-title", Static).update(title)
        shown = source[:MAX_ROWS]
        grid = self.grid
        keys = [t.trade_id for t in shown]
        grid.set_order(keys)
        for t in shown:
            if grid.cells(t.trade_id) is None:
                grid.set_row(t.trade_id, trade_cells(t))

    def action_toggle_scope(self) -> None:
        self.all_watched = not self.all_watched
        self.refresh_view(Changes(), self.view.clock(), full=True)
