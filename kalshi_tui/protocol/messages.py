"""Typed messages the decoder produces. Prices are 1/10,000 dollar, sizes 1/100 contract,
money (fees, costs, P&L) 1/1,000,000 dollar: a price times a size, exactly.

Every message carries ``sid`` and ``seq`` (``None`` when the frame had none), so the
stream can track each subscription's sequence on every frame that consumes a number.
"""

from __future__ import annotations

import msgspec

Level = tuple[int, int]  # (price, size)


class Message(msgspec.Struct, kw_only=True, gc=False):
    sid: int | None = None
    seq: int | None = None


class Subscribed(Message, kw_only=True, gc=False):
    id: int | None
    channel: str


class Ok(Message, kw_only=True, gc=False):
    """Answer to update_subscription (market_tickers) or list_subscriptions (subscriptions)."""

    id: int | None
    market_tickers: tuple[str, ...] | None = None
    subscriptions: tuple[tuple[str, int], ...] | None = None


class Unsubscribed(Message, kw_only=True, gc=False):
    id: int | None


class Error(Message, kw_only=True, gc=False):
    id: int | None
    code: int
    text: str
    market_tickers: tuple[str, ...] = ()


class OrderbookSnapshot(Message, kw_only=True, gc=False):
    id: int | None = None  # set when the snapshot answers a get_snapshot command
    market_ticker: str
    market_id: str = ""
    yes: list[Level]
    no: list[Level]


class OrderbookDelta(Message, kw_only=True, gc=False):
    market_ticker: str
    side: str  # "yes" or "no"
    price: int
    delta: int
    ts_ms: int | None = None
    client_order_id: str | None = None


class Ticker(Message, kw_only=True, gc=False):
    market_ticker: str
    price: int | None = None  # last trade; None when the exchange sends ""
    yes_bid: int | None = None
    yes_ask: int | None = None
    yes_bid_size: int | None = None
    yes_ask_size: int | None = None
    volume: int | None = None
    open_interest: int | None = None
    dollar_volume: int | None = None
    dollar_open_interest: int | None = None
    ts_ms: int | None = None


class Trade(Message, kw_only=True, gc=False):
    trade_id: str
    market_ticker: str
    yes_price: int
    no_price: int
    count: int
    taker_side: str  # outcome side of the taker: "yes" / "no"
    taker_book_side: str | None = None
    is_block_trade: bool = False
    ts_ms: int | None = None


class Fill(Message, kw_only=True, gc=False):
    trade_id: str
    order_id: str
    market_ticker: str
    side: str  # outcome side: "yes" / "no"
    action: str  # "buy" / "sell"
    yes_price: int
    count: int
    fee: int = 0  # money: 1/1,000,000 dollar
    is_taker: bool = False
    book_side: str | None = None
    post_position: int | None = None
    client_order_id: str | None = None
    ts_ms: int | None = None
    backfilled: bool = False  # True when it came from REST after a reconnect


class MarketPosition(Message, kw_only=True, gc=False):
    market_ticker: str
    position: int
    # money, 1/1,000,000 dollar
    position_cost: int | None = None
    realized_pnl: int | None = None
    fees_paid: int | None = None
    volume: int | None = None


class UserOrder(Message, kw_only=True, gc=False):
    """One of the account's orders as it is now (created, filled, canceled...): no seq."""

    order_id: str
    market_ticker: str  # the wire names it ``ticker`` on this channel
    status: str  # "resting", "canceled", "executed"
    side: str  # outcome side: "yes" / "no"
    book_side: str  # "bid" / "ask"
    yes_price: int
    filled: int
    remaining: int
    initial: int
    # money, 1/1,000,000 dollar
    taker_fees: int = 0
    maker_fees: int = 0
    client_order_id: str | None = None
    created_ts_ms: int | None = None
    updated_ts_ms: int | None = None
    reason: str | None = None  # last_update_reason: "created", "fill", "canceled", ...


class Lifecycle(Message, kw_only=True, gc=False):
    market_ticker: str
    event_type: str
    result: str | None = None
    close_ts: int | None = None
    #: (start, end, step) in 1/10,000 dollar, on price_level_structure updates
    price_ranges: tuple[tuple[int, int, int], ...] | None = None


class Unknown(Message, kw_only=True, gc=False):
    """A frame of a type this client does not know: counted and reported, never fatal."""

    type: str
    id: int | None = None


AnyMessage = (
    Subscribed
    | Ok
    | Unsubscribed
    | Error
    | OrderbookSnapshot
    | OrderbookDelta
    | Ticker
    | Trade
    | Fill
    | MarketPosition
    | UserOrder
    | Lifecycle
    | Unknown
)


#: Each message's frame ``type`` on the wire: the one list the decoder's tags, the simulator's
#: frames and ``tail``'s output are built from.
WIRE_TYPE: dict[type[Message], str] = {
    Subscribed: "subscribed",
    Ok: "ok",
    Unsubscribed: "unsubscribed",
    Error: "error",
    OrderbookSnapshot: "orderbook_snapshot",
    OrderbookDelta: "orderbook_delta",
    Ticker: "ticker",
    Trade: "trade",
    Fill: "fill",
    MarketPosition: "market_position",
    UserOrder: "user_order",
    Lifecycle: "market_lifecycle_v2",
}
#: Messages that carry market or account data (the others answer commands).
DATA_TYPES = frozenset(
    {OrderbookSnapshot, OrderbookDelta, Ticker, Trade, Fill, MarketPosition, UserOrder, Lifecycle}
)
