"""Portfolio tab: balance, positions with marks and totals, settled positions, resting orders.

Positions come from the ``market_positions`` channel (live) over the REST backfill; the
marks are computed from the books the dashboard already holds (``kalshi_tui.portfolio``).
The account over REST (balance, settlements, orders) is kept fresh by ``AccountPoller``:
every 30 s and after fills, one refresh in flight at a time. Resting orders are the store's:
REST's answer seeds them, the ``user_orders`` channel moves them in between.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from textual.app import App, ComposeResult
from textual.widgets import Static

from kalshi_tui.account import Account, RestingOrder, Settlement
from kalshi_tui.portfolio import (
    PositionRow,
    Totals,
    evaluate,
    holding_from_socket,
    merge_holdings,
    totals_by_group,
)
from kalshi_tui.store import Changes
from kalshi_tui.ui import cells as c
from kalshi_tui.ui.grid import Cell, Column, LiveGrid
from kalshi_tui.ui.live_text import LiveText
from kalshi_tui.ui.pane import Pane
from kalshi_tui.ui.view import View

ACCOUNT_EVERY = 30.0  # s between REST refreshes of the account
#: s between redraws of the positions for fills and book moves: at 10 Hz every held market's
#: marks and the totals would repaint on every tick (bytes over SSH for no reading gain)
MARK_EVERY = 0.5
AFTER_FILL_GAP = 3.0  # s: fills in a burst make one more refresh after this, not one each

POSITION_COLUMNS = [
    Column("market", "Market", 0, "left", priority=10, min_width=12),
    Column("side", "Side", 4, "left", priority=9),
    Column("qty", "Contracts", 9, priority=9),
    Column("avg", "Avg", 6, priority=6),
    Column("cost", "Cost", 11, priority=7),
    Column("bid", "At bids", 11, priority=7),
    Column("mid", "At mid", 11, priority=4),
    Column("unreal", "Unrealized", 11, priority=8),
    Column("realized", "Realized", 11, priority=5),
    Column("fees", "Fees", 10, priority=3),
]
SETTLED_COLUMNS = [
    Column("market", "Settled", 0, "left", priority=10, min_width=12),
    Column("result", "Result", 6, "left", priority=8),
    Column("held", "Held", 11, priority=7),
    Column("cost", "Cost", 11, priority=6),
    Column("revenue", "Revenue", 11, priority=9),
    Column("net", "Net", 11, priority=9),
    Column("time", "At", 8, "left", priority=5),
]
ORDER_COLUMNS = [
    Column("market", "Resting order", 0, "left", priority=10, min_width=12),
    Column("side", "Side", 8, "left", priority=9),
    Column("price", "Price", 7, priority=9),
    Column("left", "Left", 9, priority=8),
    Column("of", "Of", 9, priority=5),
    Column("time", "Placed", 8, "left", priority=6),
]


class AccountSource(Protocol):
    """What the portfolio needs from REST (kalshi_tui.rest.RestClient)."""

    async def account(self, *, now: float) -> Account: ...


class AccountPoller:
    """Keeps ``view.account`` fresh from ``source``. A request while a refresh runs queues
    exactly one more, so a burst of fills costs two REST rounds, not one per fill."""

    def __init__(self, app: App[object], source: AccountSource, view: View) -> None:
        self.app = app
        self.source = source
        self.view = view
        self._running = False
        self._again = False
        self.every = ACCOUNT_EVERY  # s between refreshes with nothing to prompt one

    def start(self) -> None:
        self.app.set_interval(self.every, self.request, name="account")
        self.request()

    def request(self) -> None:
        if self._running:
            self._again = True
            return
        self._running = True
        self.app.run_worker(self._run(), name="account", exit_on_error=False)

    async def _run(self) -> None:
        try:
            while True:
                self._again = False
                await self._refresh_once()
                if not self._again:
                    return
                await asyncio.sleep(AFTER_FILL_GAP)
        finally:
            self._running = False

    async def _refresh_once(self) -> None:
        old = self.view.account
        store = self.view.store
        mark = store.order_mark()
        try:
            new = await self.source.account(now=self.view.wall_clock())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Keep what we had, say why it is old. RestError messages are one line already.
            old.error = str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__
            old.refreshes += 1
            return
        new.refreshes = old.refreshes + 1
        self.view.account = new
        if new.orders is not None:
            store.seed_orders(new.orders, mark)
        self.view.wake()


def _signed_dollars(value: int | None) -> str:
    return c.dollars(value) if value is None or value <= 0 else "+" + c.dollars(value)


def _pnl_style(value: int | None) -> str:
    return "" if not value else ("up" if value > 0 else "down")


def position_cells(row: PositionRow, title: str) -> tuple[Cell, ...]:
    h = row.holding
    bids = row.bids
    side_style = "bid" if h.side == "yes" else "ask"
    bid_text = c.dollars(bids.value) if bids else c.DASH
    if bids and bids.unsold:
        bid_text += "*"  # part of the position found no bid: counted at zero
    unreal = row.unrealized
    return (
        (title or h.ticker, ""),
        (h.side.upper(), side_style),
        (c.contracts(h.contracts), "bold"),
        (c.cents(h.avg_cost), ""),
        (c.dollars(h.cost), ""),
        (bid_text, "warn" if bids and bids.unsold else ""),
        (c.dollars(row.mid), "dim"),
        (_signed_dollars(unreal), _pnl_style(unreal)),
        (_signed_dollars(h.realized_pnl), _pnl_style(h.realized_pnl)),
        (c.dollars(h.fees), "dim"),
    )


def total_cells(name: str, t: Totals) -> tuple[Cell, ...]:
    label = f"Σ {name or 'all'} ({t.positions}" + (f", {t.unmarked} unmarked)" if t.unmarked else ")")
    # Nothing marked: no total to show, rather than a $0.00 that reads as a value.
    none = t.positions > 0 and t.unmarked == t.positions
    return (
        (label, "accent"),
        ("", ""),
        ("", ""),
        ("", ""),
        (c.dollars(t.cost), "bold"),
        (c.DASH if none else c.dollars(t.value), "bold"),
        (c.DASH if none else c.dollars(t.mid), "dim"),
        (c.DASH if none else _signed_dollars(t.unrealized), _pnl_style(t.unrealized)),
        (_signed_dollars(t.realized), _pnl_style(t.realized)),
        (c.dollars(t.fees), "dim"),
    )


def settled_cells(s: Settlement) -> tuple[Cell, ...]:
    held = []
    if s.yes_count:
        held.append(f"{c.contracts(s.yes_count)} YES")
    if s.no_count:
        held.append(f"{c.contracts(s.no_count)} NO")
    return (
        (s.ticker, ""),
        (s.result.upper() or c.DASH, "bid" if s.result == "yes" else "ask"),
        (" ".join(held) or c.DASH, ""),
        (c.dollars(s.cost), ""),
        (c.dollars(s.revenue), "bold"),
        (_signed_dollars(s.net), _pnl_style(s.net)),
        (c.clock_text(int(s.settled_at * 1000)) if s.settled_at else c.DASH, "dim"),
    )


def order_cells(o: RestingOrder) -> tuple[Cell, ...]:
    return (
        (o.ticker, ""),
        (f"{o.book_side} {o.side.upper()}", "bid" if o.side == "yes" else "ask"),
        (c.cents(o.price), "bold"),
        (c.contracts(o.remaining), ""),
        (c.contracts(o.initial), "dim"),
        (c.clock_text(int(o.created_at * 1000)) if o.created_at else c.DASH, "dim"),
    )


class PortfolioPane(Pane):
    def __init__(self, view: View) -> None:
        super().__init__(view, id="portfolio-pane")
        self._summary = ""
        self._second = -1
        self._seen_refresh = -1
        self._titles: dict[str, str] = {}
        self._moved = False
        self._marked_at = float("-inf")

    def compose(self) -> ComposeResult:
        yield LiveText("", id="portfolio-summary", markup=False)
        yield LiveGrid(POSITION_COLUMNS, id="positions-grid", empty_text="No open positions.")
        yield LiveText("", id="settled-title", classes="portfolio-title", markup=False)
        yield LiveGrid(SETTLED_COLUMNS, id="settled-grid", empty_text="No settled positions.")
        yield LiveText("", id="orders-title", classes="portfolio-title", markup=False)
        yield LiveGrid(ORDER_COLUMNS, id="orders-grid", empty_text="No resting orders.")

    @property
    def grid(self) -> LiveGrid:
        return self.query_one("#positions-grid", LiveGrid)

    def focus_main(self) -> None:
        self.grid.focus()

    def rows(self) -> list[PositionRow]:
        """Every position we know of, live over REST, marked on the books we hold."""
        store = self.view.store
        live = (holding_from_socket(p) for p in store.positions.values())
        holdings = merge_holdings(self.view.account.holdings.values(), live)
        out = []
        for ticker in sorted(holdings):
            state = store.markets.get(ticker)
            out.append(evaluate(holdings[ticker], state.book if state else None))
        return out

    def refresh_view(self, changes: Changes, now: float, full: bool) -> None:
        account = self.view.account
        fresh = account.refreshes != self._seen_refresh
        held = self.view.store.positions.keys() | account.holdings.keys()
        self._moved |= bool(changes.fills or changes.metadata or changes.books & held)
        if full or fresh or (self._moved and now - self._marked_at >= MARK_EVERY):
            self._seen_refresh = account.refreshes
            self._moved = False
            self._marked_at = now
            self._draw_positions()
        if full or fresh:
            self._draw_settled(account)
        if full or fresh or changes.orders:
            self._draw_orders(account)
        if full or fresh or int(now) != self._second:
            self._second = int(now)
            self._draw_summary(account)

    def _draw_positions(self) -> None:
        rows = self.rows()
        store = self.view.store
        grid = self.grid
        open_rows = [r for r in rows if r.holding.position]
        totals = totals_by_group(rows, self.view.groups)
        # The overall total first: on a short terminal it is the one line that must show.
        keys = [r.holding.ticker for r in open_rows] + ["Σ"] + [f"Σ{n}" for n in totals if n]
        grid.set_order(keys)
        for r in open_rows:
            state = store.markets.get(r.holding.ticker)
            title = c.market_title(state.meta) if state else ""
            label = f"{r.holding.ticker}  {title}" if title else r.holding.ticker
            grid.set_row(r.holding.ticker, position_cells(r, label))
        for name, t in totals.items():
            grid.set_row(f"Σ{name}", total_cells(name, t))

    def _draw_settled(self, account: Account) -> None:
        settled = account.settlements
        self._title(
            "settled-title",
            "Settled positions: not served by this exchange"
            if settled is None and account.fetched_at is not None
            else f"Settled positions ({len(settled or ())})"
            + (f"   net {_signed_dollars(sum(s.net for s in settled))}" if settled else ""),
        )
        sgrid = self.query_one("#settled-grid", LiveGrid)
        ordered = sorted(settled or (), key=lambda s: s.settled_at or 0, reverse=True)
        keys = [f"{s.ticker}@{s.settled_at}" for s in ordered]
        sgrid.set_order(keys)
        for key, s in zip(keys, ordered, strict=True):
            sgrid.set_row(key, settled_cells(s))

    def _draw_orders(self, account: Account) -> None:
        orders = self.view.store.orders
        self._title(
            "orders-title",
            "Resting orders: not served by this exchange"
            if account.orders is None and account.fetched_at is not None and not orders
            else f"Resting orders ({len(orders)}, read-only)",
        )
        ogrid = self.query_one("#orders-grid", LiveGrid)
        resting = list(orders.values())  # REST's order, then new ones as the socket tells them
        ogrid.set_order(o.order_id for o in resting)
        for o in resting:
            ogrid.set_row(o.order_id, order_cells(o))

    def _title(self, widget: str, text: str) -> None:
        if self._titles.get(widget) != text:
            self._titles[widget] = text
            self.query_one(f"#{widget}", Static).update(text)

    def _draw_summary(self, account: Account) -> None:
        bal = account.balance
        if bal is None:
            money = "Balance —" if not account.error else "Balance unknown"
        else:
            money = f"Balance {c.dollars(bal.balance)}   Portfolio value {c.dollars(bal.portfolio_value)}"
        age = account.age(self.view.wall_clock())
        when = "account data: loading…" if age is None else f"account data {c.age_text(age)} old"
        if account.error:
            when += f" · refresh failed: {account.error}"
        summary = f"{money}   ({when})"
        if summary != self._summary:
            self._summary = summary
            self.query_one("#portfolio-summary", Static).update(summary)
