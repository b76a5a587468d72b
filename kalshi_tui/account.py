"""The account as REST reports it: balance, settled positions, resting orders. Pure code.

Read from the shapes of Kalshi's current API (``/portfolio/balance``, ``/portfolio/settlements``,
``/portfolio/orders``, ``/exchange/user_data_timestamp``). Cent fields (``balance``,
``portfolio_value``, ``revenue``) become money, 1/1,000,000 $, like the ``*_dollars`` ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kalshi_tui.numbers import MONEY_SCALE, parse_money, parse_price, parse_size
from kalshi_tui.portfolio import Holding
from kalshi_tui.protocol import messages as m

CENT_AS_MONEY = MONEY_SCALE // 100


def iso_seconds(value: object) -> float | None:
    """An ISO 8601 time -> epoch seconds; None for absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _cents(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, int):
        raise ValueError(f"expected whole cents, got {value!r}"[:60])
    return value * CENT_AS_MONEY


def _money(raw: Mapping[str, Any], key: str) -> int | None:
    value = raw.get(key)
    return None if value is None or value == "" else parse_money(value)


@dataclass(frozen=True, slots=True)
class Balance:
    balance: int  # money: cash available
    portfolio_value: int | None  # money: the exchange's value of open positions
    updated_ts: int | None = None  # epoch seconds


def balance_from_rest(raw: Mapping[str, Any]) -> Balance:
    """``balance_dollars`` (six places) when present, else the cent field."""
    money = _money(raw, "balance_dollars")
    if money is None:
        money = _cents(raw.get("balance"))
    if money is None:
        raise ValueError("balance missing")
    updated = raw.get("updated_ts")
    return Balance(money, _cents(raw.get("portfolio_value")), updated if isinstance(updated, int) else None)


@dataclass(frozen=True, slots=True)
class Settlement:
    ticker: str
    result: str  # "yes" / "no" / "" (void, scalar)
    yes_count: int  # 1/100 contract
    no_count: int
    cost: int  # money: yes_total_cost + no_total_cost
    revenue: int  # money paid out at settlement
    fees: int  # money
    settled_at: float | None  # epoch seconds

    @property
    def net(self) -> int:
        return self.revenue - self.cost - self.fees


def settlement_from_rest(raw: Mapping[str, Any]) -> Settlement:
    return Settlement(
        ticker=str(raw.get("ticker") or ""),
        result=str(raw.get("market_result") or ""),
        yes_count=parse_size(raw.get("yes_count_fp") or "0"),
        no_count=parse_size(raw.get("no_count_fp") or "0"),
        cost=(_money(raw, "yes_total_cost_dollars") or 0) + (_money(raw, "no_total_cost_dollars") or 0),
        revenue=_cents(raw.get("revenue")) or 0,
        fees=_money(raw, "fee_cost") or 0,
        settled_at=iso_seconds(raw.get("settled_time")),
    )


@dataclass(frozen=True, slots=True)
class RestingOrder:
    order_id: str
    ticker: str
    side: str  # outcome side: "yes" / "no"
    book_side: str  # "bid" / "ask"
    yes_price: int  # 1/10,000 $
    remaining: int  # 1/100 contract
    initial: int
    status: str = "resting"
    created_at: float | None = None

    @property
    def price(self) -> int:
        """The order's own side's price."""
        return self.yes_price if self.side == "yes" else 10_000 - self.yes_price


def order_from_message(o: m.UserOrder) -> RestingOrder:
    """A decoded ``user_order`` frame as the order the portfolio and the ladder show."""
    return RestingOrder(
        order_id=o.order_id,
        ticker=o.market_ticker,
        side=o.side,
        book_side=o.book_side,
        yes_price=o.yes_price,
        remaining=o.remaining,
        initial=o.initial,
        status=o.status,
        created_at=None if o.created_ts_ms is None else o.created_ts_ms / 1000,
    )


def order_from_rest(raw: Mapping[str, Any]) -> RestingOrder:
    """A REST order (or a ``user_order`` frame's msg: same names but ``created_ts_ms``)."""
    created = iso_seconds(raw.get("created_time"))
    if created is None and isinstance(raw.get("created_ts_ms"), int):
        created = raw["created_ts_ms"] / 1000
    side = str(raw.get("outcome_side") or raw.get("side") or "")
    if side not in ("yes", "no"):
        raise ValueError(f"order side {side!r}"[:40])
    return RestingOrder(
        order_id=str(raw.get("order_id") or ""),
        ticker=str(raw.get("ticker") or raw.get("market_ticker") or ""),
        side=side,
        book_side=str(raw.get("book_side") or "bid"),
        yes_price=parse_price(raw.get("yes_price_dollars")),
        remaining=parse_size(raw.get("remaining_count_fp") or "0"),
        initial=parse_size(raw.get("initial_count_fp") or "0"),
        status=str(raw.get("status") or "resting"),
        created_at=created,
    )


@dataclass(slots=True)
class Account:
    """The last account snapshot fetched over REST. ``None`` fields were not (yet) known;
    ``settlements``/``orders`` stay None on a server without those endpoints."""

    balance: Balance | None = None
    holdings: dict[str, Holding] = field(default_factory=dict)
    settlements: list[Settlement] | None = None
    orders: list[RestingOrder] | None = None
    as_of: float | None = None  # epoch seconds: /exchange/user_data_timestamp
    fetched_at: float | None = None  # epoch seconds, our clock
    error: str = ""  # one sentence about the last failed refresh
    refreshes: int = 0

    def age(self, now: float) -> float | None:
        """How old the account numbers are: the exchange's as-of time, else our fetch time."""
        at = self.as_of if self.as_of is not None else self.fetched_at
        return None if at is None else max(0.0, now - at)
