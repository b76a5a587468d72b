"""Positions and what they are worth: the exchange's figures, our marks, totals. Pure code.

One ``Holding`` type whatever the source: the ``market_positions`` socket channel
(``position_cost_dollars``), REST ``/portfolio/positions`` (``market_exposure_dollars``),
or our own ``Ledger`` folded from fills. A negative position holds NO.

Marks are what we compute from the book: the money you would get selling into the bids now
(a YES position sells into YES bids, a NO position into NO bids, walking down the ladder when
it is larger than the top level) and the value at mid. A book that is not synced gives no
mark: never a guessed number.

Units: money 1/1,000,000 $, prices 1/10,000 $, sizes 1/100 contract; integers only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kalshi_tui.book import NO, YES, OrderBook
from kalshi_tui.numbers import ONE_DOLLAR, parse_money, parse_size
from kalshi_tui.protocol import messages as m

LIVE = "live"  # market_positions channel
REST = "rest"  # /portfolio/positions
FILLS = "fills"  # folded from fills by the Ledger


@dataclass(frozen=True, slots=True)
class Holding:
    """One market's position as the exchange (or our ledger) reports it."""

    ticker: str
    position: int  # 1/100 contract; < 0 holds NO
    cost: int | None = None  # money: what the open contracts cost
    realized_pnl: int | None = None  # money
    fees: int | None = None  # money
    source: str = LIVE

    @property
    def side(self) -> str:
        return NO if self.position < 0 else YES

    @property
    def contracts(self) -> int:
        return abs(self.position)

    @property
    def avg_cost(self) -> int | None:
        """Average price paid per contract held, 1/10,000 $ (half up): money / size is price."""
        if self.cost is None or not self.position:
            return None
        return (2 * self.cost + self.contracts) // (2 * self.contracts)


def holding_from_socket(p: m.MarketPosition) -> Holding:
    return Holding(p.market_ticker, p.position, p.position_cost, p.realized_pnl, p.fees_paid, LIVE)


def _money(raw: Mapping[str, Any], key: str) -> int | None:
    value = raw.get(key)
    return None if value is None or value == "" else parse_money(value)


def holding_from_rest(raw: Mapping[str, Any]) -> Holding:
    """A REST ``market_positions`` item. Raises ValueError on a malformed number."""
    ticker = raw.get("ticker") or raw.get("market_ticker")
    if not isinstance(ticker, str) or not ticker:
        raise ValueError("position without a ticker")
    return Holding(
        ticker,
        parse_size(raw.get("position_fp", "0")),
        _money(raw, "market_exposure_dollars"),
        _money(raw, "realized_pnl_dollars"),
        _money(raw, "fees_paid_dollars"),
        REST,
    )


def merge_holdings(rest: Iterable[Holding], live: Iterable[Holding]) -> dict[str, Holding]:
    """REST is the backfill; a live channel update is at least as new, so it wins."""
    out = {h.ticker: h for h in rest}
    out.update((h.ticker, h) for h in live)
    return out


# -- our own ledger -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Open:
    position: int = 0
    cost: int = 0
    realized: int = 0
    fees: int = 0


class Ledger:
    """Average-cost accounting from fills, with YES/NO netting as Kalshi does it.

    Each fill moves the YES-equivalent position: buying YES or selling NO adds, buying NO or
    selling YES subtracts. The held side's price of a fill is the YES price for YES and its
    complement for NO, whichever side the fill names (buying NO at n sells YES at 1 - n), so
    closing ``k`` contracts realizes ``k x held-side price - k/held x cost`` (cost share
    rounded down, as the exchange's simulator does).
    """

    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}

    def apply(self, fill: m.Fill) -> None:
        o = self._open.setdefault(fill.market_ticker, _Open())
        o.fees += fill.fee
        adds_yes = (fill.side == YES) == (fill.action == "buy")
        signed = fill.count if adds_yes else -fill.count
        held = abs(o.position)
        if o.position == 0 or (o.position > 0) == (signed > 0):
            o.position += signed
            o.cost += fill.count * _side_price(fill.yes_price, signed > 0)
            return
        closed = min(fill.count, held)
        basis = o.cost * closed // held
        o.realized += closed * _side_price(fill.yes_price, o.position > 0) - basis
        o.cost -= basis
        o.position += closed if signed > 0 else -closed
        rest = fill.count - closed
        if rest:
            o.position += rest if signed > 0 else -rest
            o.cost = rest * _side_price(fill.yes_price, signed > 0)

    def holding(self, ticker: str) -> Holding | None:
        o = self._open.get(ticker)
        return None if o is None else Holding(ticker, o.position, o.cost, o.realized, o.fees, FILLS)

    def holdings(self) -> dict[str, Holding]:
        return {t: h for t in self._open if (h := self.holding(t)) is not None}


def _side_price(yes_price: int, yes: bool) -> int:
    return yes_price if yes else ONE_DOLLAR - yes_price


# -- marks --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mark:
    """Selling ``contracts`` into the bids now: ``value`` money for ``sold``; ``unsold``
    found no bid (counted at zero: nobody would pay for them now)."""

    value: int
    sold: int
    unsold: int


def mark_at_bids(book: OrderBook | None, position: int) -> Mark | None:
    if book is None or not book.synced:
        return None
    left = abs(position)
    value = sold = 0
    for price, size in book.levels(NO if position < 0 else YES):
        if left <= 0:
            break
        take = min(size, left)
        value += take * price
        sold += take
        left -= take
    return Mark(value, sold, left)


def mark_at_mid(book: OrderBook | None, position: int) -> int | None:
    """The held side's mid times the contracts, money rounded down; None without both sides."""
    if book is None or not book.synced:
        return None
    yes_bid, no_bid = book.yes_bid, book.no_bid
    if yes_bid is None or no_bid is None:
        return None
    own, other = (no_bid.price, yes_bid.price) if position < 0 else (yes_bid.price, no_bid.price)
    return abs(position) * (own + ONE_DOLLAR - other) // 2


@dataclass(frozen=True, slots=True)
class PositionRow:
    holding: Holding
    bids: Mark | None
    mid: int | None

    @property
    def unrealized(self) -> int | None:
        """Money: selling into the bids now against what the contracts cost."""
        if self.bids is None or self.holding.cost is None:
            return None
        return self.bids.value - self.holding.cost

    @property
    def exposure(self) -> int | None:
        """Money you lose if the market settles against you: what the position cost."""
        return self.holding.cost


def evaluate(holding: Holding, book: OrderBook | None) -> PositionRow:
    return PositionRow(holding, mark_at_bids(book, holding.position), mark_at_mid(book, holding.position))


@dataclass(slots=True)
class Totals:
    """Sums over positions; ``unmarked`` counts positions whose mark is unknown (not in
    ``value``/``unrealized``), so a partial total says it is partial."""

    positions: int = 0
    cost: int = 0
    value: int = 0
    mid: int = 0
    unrealized: int = 0
    realized: int = 0
    fees: int = 0
    unmarked: int = 0
    tickers: list[str] = field(default_factory=list)

    def add(self, row: PositionRow) -> None:
        h = row.holding
        self.tickers.append(h.ticker)
        self.realized += h.realized_pnl or 0
        self.fees += h.fees or 0
        if not h.position:
            return
        self.positions += 1
        self.cost += h.cost or 0
        unrealized = row.unrealized
        if row.bids is None or row.mid is None or unrealized is None:
            self.unmarked += 1
            return
        self.value += row.bids.value
        self.mid += row.mid
        self.unrealized += unrealized


OTHER = "not watched"


def totals_by_group(rows: Iterable[PositionRow], groups: Mapping[str, Iterable[str]]) -> dict[str, Totals]:
    """Totals per watchlist group (a market in two groups counts in both; one in none goes
    to ``OTHER``), plus the overall total under ``""`` counting every position once."""
    member: dict[str, list[str]] = {}
    for name, tickers in groups.items():
        for t in tickers:
            member.setdefault(t, []).append(name)
    out: dict[str, Totals] = {name: Totals() for name in groups}
    overall = Totals()
    for row in rows:
        overall.add(row)
        for name in member.get(row.holding.ticker) or [OTHER]:
            out.setdefault(name, Totals()).add(row)
    out[""] = overall
    return {k: v for k, v in out.items() if v.tickers or k == ""}
