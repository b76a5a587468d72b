"""Server frames, byte for byte in the shapes the real exchange sends.

Key sets follow the frames captured from Kalshi's production and demo sockets
(the repository's tests/fixtures/kalshi-frames/frames-new.jsonl); a test holds them to it. Message bodies are
encoded once with msgspec and spliced into each subscriber's envelope (sid and seq differ
per subscription), so fan-out costs a bytes format, not a JSON encode.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from kalshi_tui.book import NO
from kalshi_tui.numbers import ONE_DOLLAR, format_money, format_price, format_size
from kalshi_tui.protocol import messages
from kalshi_tui.protocol.messages import WIRE_TYPE
from kalshi_tui.sim.account import UserOrder
from kalshi_tui.sim.engine import (
    DELTA,
    FILL,
    LIFECYCLE,
    ORDER,
    POSITION,
    TICKER,
    TRADE,
    ExchangeMarket,
    Output,
    Position,
    TickerValues,
    TradeRecord,
    UserFill,
)

encode = msgspec.json.Encoder().encode

# The frame type each channel's data goes out as.
FRAME_TYPE = {
    DELTA: WIRE_TYPE[messages.OrderbookDelta],
    TICKER: WIRE_TYPE[messages.Ticker],
    TRADE: WIRE_TYPE[messages.Trade],
    FILL: WIRE_TYPE[messages.Fill],
    POSITION: WIRE_TYPE[messages.MarketPosition],
    LIFECYCLE: WIRE_TYPE[messages.Lifecycle],
    ORDER: WIRE_TYPE[messages.UserOrder],
}
_SEQ_ENVELOPE = {
    kind: b'{"type":"%s","sid":%%d,"seq":%%d,"msg":%%b}' % t.encode() for kind, t in FRAME_TYPE.items()
}
_ENVELOPE = {kind: b'{"type":"%s","sid":%%d,"msg":%%b}' % t.encode() for kind, t in FRAME_TYPE.items()}

_iso_cache: tuple[int, str] = (-1, "")
_CACHE_LIMIT = 1 << 16
_prices: dict[int, str] = {}
_sizes: dict[int, str] = {}


def price_text(value: int) -> str:
    """``format_price`` through a cache: a market has at most a thousand prices."""
    text = _prices.get(value)
    if text is None:
        if len(_prices) >= _CACHE_LIMIT:
            _prices.clear()
        text = _prices[value] = format_price(value)
    return text


def size_text(value: int) -> str:
    text = _sizes.get(value)
    if text is None:
        if len(_sizes) >= _CACHE_LIMIT:
            _sizes.clear()
        text = _sizes[value] = format_size(value)
    return text


def iso(ts_ms: int) -> str:
    """RFC 3339 with microseconds and Z, as in the exchange's ``ts``/``time`` strings."""
    global _iso_cache
    if _iso_cache[0] == ts_ms:
        return _iso_cache[1]
    text = datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _iso_cache = (ts_ms, text)
    return text


def data_frame(kind: str, sid: int, seq: int | None, body: bytes) -> bytes:
    if seq is None:
        return _ENVELOPE[kind] % (sid, body)
    return _SEQ_ENVELOPE[kind] % (sid, seq, body)


# ---- message bodies ----------------------------------------------------------------------------


def body(out: Output, yes_scale: bool = False) -> bytes:
    """The wire body of ``out``, encoded on first use and cached on it."""
    if yes_scale and out.kind == DELTA and out.data[0] == NO:  # type: ignore[index]
        cached = out.body_yes_cache
        if cached is None:
            cached = out.body_yes_cache = render(out, True)
        return cached
    cached = out.body_cache
    if cached is None:
        cached = out.body_cache = render(out, False)
    return cached


def render(out: Output, yes_scale: bool) -> bytes:
    kind = out.kind
    m = out.market
    if kind == DELTA:
        side, price, delta = out.data  # type: ignore[misc]
        if yes_scale and side == NO:
            price = ONE_DOLLAR - price  # use_yes_price: a NO bid is quoted as the YES ask
        return encode(
            {
                "market_ticker": m.ticker,
                "market_id": m.market_id,
                "price_dollars": price_text(price),
                "delta_fp": size_text(delta),
                "side": side,
                "ts": iso(out.ts_ms),
                "ts_ms": out.ts_ms,
            }
        )
    if kind == TICKER:
        return encode(ticker_msg(m.ticker, m.market_id, out.data, out.ts_ms))  # type: ignore[arg-type]
    if kind == TRADE:
        return encode(trade_msg(out.data, m.ticker))  # type: ignore[arg-type]
    if kind == FILL:
        return encode(fill_msg(out.data))  # type: ignore[arg-type]
    if kind == POSITION:
        return encode(position_msg(out.data))  # type: ignore[arg-type]
    if kind == LIFECYCLE:
        return encode(out.data)
    if kind == ORDER:
        return encode(user_order_msg(out.data))  # type: ignore[arg-type]
    raise ValueError(kind)


def ticker_msg(ticker: str, market_id: str, v: TickerValues, ts_ms: int) -> dict[str, Any]:
    return {
        "market_ticker": ticker,
        "market_id": market_id,
        "price_dollars": price_text(v.last_price),
        "yes_bid_dollars": price_text(v.yes_bid),
        "yes_ask_dollars": price_text(v.yes_ask),
        "yes_bid_size_fp": size_text(v.yes_bid_size),
        "yes_ask_size_fp": size_text(v.yes_ask_size),
        "last_trade_size_fp": size_text(v.last_size),
        # Volumes only grow: through the cache they would just churn it.
        "volume_fp": format_size(v.volume),
        "open_interest_fp": format_size(v.oi),
        "dollar_volume": v.dollar_volume,
        "dollar_open_interest": v.dollar_oi,
        "ts": ts_ms // 1000,
        "ts_ms": ts_ms,
        "time": iso(ts_ms),
    }


def trade_msg(t: TradeRecord, ticker: str) -> dict[str, Any]:
    return {
        "trade_id": t.trade_id,
        "market_ticker": ticker,
        "yes_price_dollars": price_text(t.yes_price),
        "no_price_dollars": price_text(t.no_price),
        "count_fp": size_text(t.count),
        "taker_side": t.taker_side,
        "taker_outcome_side": t.taker_side,
        # A YES taker bids in the YES book; a NO taker is selling YES: an ask.
        "taker_book_side": "bid" if t.taker_side == "yes" else "ask",
        "is_block_trade": False,
        "ts": t.ts_ms // 1000,
        "ts_ms": t.ts_ms,
    }


def fee_text(fee: int) -> str:
    # The exchange writes fee_cost with six decimals ("0.010000", "0.012345").
    return format_money(fee)


def fill_msg(f: UserFill) -> dict[str, Any]:
    return {
        "trade_id": f.trade_id,
        "order_id": f.order_id,
        "client_order_id": f.client_order_id,
        "market_ticker": f.ticker,
        "exchange_index": 0,
        "is_taker": f.is_taker,
        "side": f.side,
        "purchased_side": f.side,
        "outcome_side": f.side,
        "book_side": f.book_side,
        "action": f.action,
        "yes_price_dollars": price_text(f.yes_price),
        "count_fp": size_text(f.count),
        "fee_cost": fee_text(f.fee),
        "post_position_fp": size_text(f.post_position),
        "subaccount": 0,
        "ts": f.ts_ms // 1000,
        "ts_ms": f.ts_ms,
    }


def position_msg(p: Position) -> dict[str, Any]:
    return {
        "user_id": "sim-user",
        "market_ticker": p.ticker,
        "position_fp": format_size(p.position),
        "position_cost_dollars": format_money(p.cost),
        "realized_pnl_dollars": format_money(p.realized_pnl),
        "fees_paid_dollars": format_money(p.fees),
        "position_fee_cost_dollars": format_money(p.fees if p.position else 0),
        "volume_fp": format_size(p.volume),
    }


def user_order_msg(o: UserOrder) -> dict[str, Any]:
    """A ``user_order`` body: Kalshi names the market ``ticker`` here, not ``market_ticker``."""
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "ticker": o.ticker,
        "status": o.status,
        "outcome_side": o.side,
        "book_side": o.book_side,
        "type": "limit",
        "yes_price_dollars": price_text(o.yes_price),
        "no_price_dollars": price_text(ONE_DOLLAR - o.yes_price),
        "fill_count_fp": size_text(o.filled),
        "remaining_count_fp": size_text(o.remaining),
        "initial_count_fp": size_text(o.initial),
        "taker_fees_dollars": format_money(0),
        "maker_fees_dollars": format_money(o.maker_fees),
        "created_ts_ms": o.created_ms,
        "last_updated_ts_ms": o.updated_ms,
        "last_update_reason": o.reason,
    }


def snapshot_msg(st: ExchangeMarket, yes_scale: bool) -> bytes:
    """A snapshot body; a side with no levels has no key at all (as on the wire), and a book
    with no levels at all comes with ``market_id`` "", as the exchange sends empty books."""
    empty = not st.yes and not st.no
    msg: dict[str, Any] = {
        "market_ticker": st.market.ticker,
        "market_id": "" if empty else st.market.market_id,
    }
    if st.yes:
        msg["yes_dollars_fp"] = [[price_text(p), size_text(s)] for p, s in sorted(st.yes.items())]
    if st.no:
        levels = sorted((ONE_DOLLAR - p, s) if yes_scale else (p, s) for p, s in st.no.items())
        msg["no_dollars_fp"] = [[price_text(p), size_text(s)] for p, s in levels]
    return encode(msg)


# ---- control frames ------------------------------------------------------------------------------


_SNAPSHOT = WIRE_TYPE[messages.OrderbookSnapshot].encode()
_SNAPSHOT_ENVELOPE = b'{"type":"%s","sid":%%d,"seq":%%d,"msg":%%b}' % _SNAPSHOT
_SNAPSHOT_ANSWER = b'{"type":"%s","id":%%d,"sid":%%d,"seq":%%d,"msg":%%b}' % _SNAPSHOT


def snapshot_frame(sid: int, seq: int, body: bytes, cmd_id: int | None = None) -> bytes:
    if cmd_id is None:
        return _SNAPSHOT_ENVELOPE % (sid, seq, body)
    return _SNAPSHOT_ANSWER % (cmd_id, sid, seq, body)


def _frame(**fields: Any) -> bytes:
    return encode({k: v for k, v in fields.items() if v is not None})


def subscribed(cmd_id: int | None, channel: str, sid: int) -> bytes:
    return _frame(type=WIRE_TYPE[messages.Subscribed], id=cmd_id, msg={"channel": channel, "sid": sid})


def ok_tickers(cmd_id: int | None, sid: int, seq: int | None, tickers: list[str] | None) -> bytes:
    msg = {} if tickers is None else {"market_tickers": tickers}
    return _frame(type=WIRE_TYPE[messages.Ok], id=cmd_id, sid=sid, seq=seq, msg=msg)


def ok_list(cmd_id: int | None, subs: list[tuple[str, int]]) -> bytes:
    return _frame(type=WIRE_TYPE[messages.Ok], id=cmd_id, msg=[{"channel": c, "sid": s} for c, s in subs])


def unsubscribed(cmd_id: int | None, sid: int, seq: int | None) -> bytes:
    return _frame(type=WIRE_TYPE[messages.Unsubscribed], id=cmd_id, sid=sid, seq=seq)


ERROR_TEXT = {
    1: "Unable to process message",
    2: "Params required",
    3: "Channels required",
    4: "Subscription IDs required",
    5: "Unknown command",
    7: "Unknown subscription ID",
    8: "Unknown channel name",
    9: "Authentication required",
    10: "Channel error",
    11: "Invalid parameter",
    12: "Exactly one subscription ID is required",
    13: "Unsupported action",
    14: "Market Ticker required",
    15: "Action required",
    16: "Market not found",
    17: "Internal error",
    25: "Subscription buffer overflow",
    26: "Subscription market limit exceeded",
    27: "Too many requests",
}


def error(
    code: int,
    *,
    cmd_id: int | None = None,
    sid: int | None = None,
    seq: int | None = None,
    tickers: list[str] | None = None,
) -> bytes:
    msg: dict[str, Any] = {"code": code, "msg": ERROR_TEXT.get(code, "Error")}
    if tickers:
        msg["market_tickers"] = tickers
    return _frame(type=WIRE_TYPE[messages.Error], id=cmd_id, sid=sid, seq=seq, msg=msg)
