"""Fills tab: your executions, newest first, with fees and the position after each."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from kalshi_tui.numbers import ONE_DOLLAR
from kalshi_tui.protocol.messages import Fill
from kalshi_tui.store import Changes
from kalshi_tui.ui import cells as c
from kalshi_tui.ui.grid import Cell, Column, LiveGrid
from kalshi_tui.ui.live_text import LiveText
from kalshi_tui.ui.pane import Pane
from kalshi_tui.ui.view import View

COLUMNS = [
    Column("time", "Time", 8, "left", priority=8),
    Column("market", "Market", 0, "left", priority=10, min_width=12),
    Column("action", "Action", 9, "left", priority=9),
    Column("price", "Price", 6, priority=9),
    Column("count", "Count", 8, priority=9),
    Column("fee", "Fee", 9, priority=7),  # "$0.012345": a fee on a fractional fill
    Column("position", "Pos after", 9, priority=6),
    Column("role", "Role", 5, "left", priority=3),
    Column("source", "", 10, "left", priority=5),
]


def fill_cells(f: Fill) -> tuple[Cell, ...]:
    # The fill carries the YES price; a NO fill's own price is its complement.
    price = f.yes_price if f.side == "yes" else ONE_DOLLAR - f.yes_price
    colour = "up" if f.action == "buy" else "down"
    return (
        (c.clock_text(f.ts_ms), "dim"),
        (f.market_ticker, ""),
        (f"{f.action} {f.side.upper()}", colour),
        (c.cents(price), "bid" if f.side == "yes" else "ask"),
        (c.contracts(f.count), "bold"),
        (c.dollars(f.fee), "dim"),
        (c.contracts(f.post_position) if f.post_position is not None else c.DASH, ""),
        ("taker" if f.is_taker else "maker", "dim"),
        ("↺ backfill" if f.backfilled else "", "warn"),
    )


class FillsPane(Pane):
    def __init__(self, view: View) -> None:
        super().__init__(view, id="fills-pane")
        self._summary = ""

    def compose(self) -> ComposeResult:
        yield LiveText("", id="fills-summary", markup=False)
        yield LiveGrid(COLUMNS, id="fills-grid", empty_text="No fills this session.")

    @property
    def grid(self) -> LiveGrid:
        return self.query_one("#fills-grid", LiveGrid)

    def focus_main(self) -> None:
        self.grid.focus()

    def refresh_view(self, changes: Changes, now: float, full: bool) -> None:
        if not full and not changes.fills:
            return
        store = self.view.store
        fills = store.fills_newest_first()
        backfilled = sum(1 for f in fills if f.backfilled)
        summary = f"{len(fills)} fills   total fees {c.dollars(store.total_fees())}" + (
            f"   {backfilled} backfilled after a reconnect (↺)" if backfilled else ""
        )
        if summary != self._summary:
            self._summary = summary
            self.query_one("#fills-summary", Static).update(summary)
        grid = self.grid
        grid.set_order(f.trade_id for f in fills)
        for f in fills:
            grid.set_row(f.trade_id, fill_cells(f))
