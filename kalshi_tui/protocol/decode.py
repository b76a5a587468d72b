"""One decode function: raw frame -> typed message, integers only (prices in 1/10,000 $,
sizes in 1/100 contract, money (fees, costs, P&L) in 1/1,000,000 $).

Hot path: one msgspec pass into a tagged union of wire structs (unknown fields skipped),
then integer conversion. Anything unusual (an unknown type, legacy integer-cent fields,
a missing field) drops to a slower tolerant path that either recovers or raises one
``ProtocolError`` with a short reason. Nothing here does I/O.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from kalshi_tui.numbers import PRICE_AS_MONEY, format_price, parse_money, parse_price, parse_size
from kalshi_tui.protocol import messages as m

Num = str | int | float
Ticker_ = Annotated[str, msgspec.Meta(min_length=1, max_length=160)]
Id = Annotated[str, msgspec.Meta(max_length=160)]
Side = Annotated[str, msgspec.Meta(max_length=8)]
MAX_LEVELS = 10_000  # a book side with more levels than this is not a real book


class ProtocolError(Exception):
    """A frame that cannot be understood. ``reason`` is short and safe to display."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---- wire shapes (as sent), one per known type -------------------------------------------


class _Frame(msgspec.Struct, tag_field="type", kw_only=True, gc=False):
    sid: int | None = None
    seq: int | None = None
    id: int | None = None


class _SubscribedMsg(msgspec.Struct, gc=False):
    channel: str
    sid: int


class _Subscribed(_Frame, tag=m.WIRE_TYPE[m.Subscribed]):
    msg: _SubscribedMsg


class _Ok(_Frame, tag=m.WIRE_TYPE[m.Ok]):
    msg: dict[str, Any] | list[Any] | None = None
    market_tickers: list[str] | None = None
    subscriptions: list[Any] | None = None


class _Unsubscribed(_Frame, tag=m.WIRE_TYPE[m.Unsubscribed]):
    msg: dict[str, Any] | None = None


class _ErrorMsg(msgspec.Struct, gc=False):
    code: int
    msg: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    market_ticker: Ticker_ | None = None
    market_tickers: list[Ticker_] | None = None


class _Error(_Frame, tag=m.WIRE_TYPE[m.Error]):
    msg: _ErrorMsg


class _SnapshotMsg(msgspec.Struct, gc=False):
    market_ticker: Ticker_
    market_id: Id = ""
    yes_dollars_fp: Annotated[list[tuple[Num, Num]], msgspec.Meta(max_length=MAX_LEVELS)] = []
    no_dollars_fp: Annotated[list[tuple[Num, Num]], msgspec.Meta(max_length=MAX_LEVELS)] = []


class _Snapshot(_Frame, tag=m.WIRE_TYPE[m.OrderbookSnapshot]):
    msg: _SnapshotMsg


class _DeltaMsg(msgspec.Struct, gc=False):
    market_ticker: Ticker_
    price_dollars: Num
    delta_fp: Num
    side: Side
    ts_ms: int | None = None
    client_order_id: Id | None = None


class _Delta(_Frame, tag=m.WIRE_TYPE[m.OrderbookDelta]):
    msg: _DeltaMsg


class _TickerMsg(msgspec.Struct, gc=False):
    market_ticker: Ticker_
    price_dollars: Num | None = None
    yes_bid_dollars: Num | None = None
    yes_ask_dollars: Num | None = None
    yes_bid_size_fp: Num | None = None
    yes_ask_size_fp: Num | None = None
    volume_fp: Num | None = None
    open_interest_fp: Num | None = None
    dollar_volume: int | None = None
    dollar_open_interest: int | None = None
    ts_ms: int | None = None


class _Ticker(_Frame, tag=m.WIRE_TYPE[m.Ticker]):
    msg: _TickerMsg


class _TradeMsg(msgspec.Struct, gc=False):
    trade_id: Id
    market_ticker: Ticker_
    yes_price_dollars: Num
    count_fp: Num
    no_price_dollars: Num | None = None
    taker_outcome_side: Side | None = None
    taker_side: Side | None = None
    taker_book_side: Side | None = None
    is_block_trade: bool = False
    ts_ms: int | None = None


class _Trade(_Frame, tag=m.WIRE_TYPE[m.Trade]):
    msg: _TradeMsg


class _FillMsg(msgspec.Struct, gc=False):
    trade_id: Id
    order_id: Id
    market_ticker: Ticker_
    yes_price_dollars: Num
    count_fp: Num
    # Deprecated with ``side``: Kalshi's current REST fills carry outcome_side/book_side only.
    action: Side | None = None
    outcome_side: Side | None = None
    side: Side | None = None
    purchased_side: Side | None = None
    book_side: Side | None = None
    is_taker: bool = False
    fee_cost: Num | None = None
    post_position_fp: Num | None = None
    client_order_id: Id | None = None
    ts_ms: int | None = None
    ts: int | str | None = None  # seconds; older frames send RFC 3339 text


class _Fill(_Frame, tag=m.WIRE_TYPE[m.Fill]):
    msg: _FillMsg


class _PositionMsg(msgspec.Struct, gc=False):
    market_ticker: Ticker_
    position_fp: Num
    position_cost_dollars: Num | None = None
    realized_pnl_dollars: Num | None = None
    fees_paid_dollars: Num | None = None
    volume_fp: Num | None = None
    # The pre-2026 shape: integers in 1/10,000 $, read only when the dollar field is absent.
    position_cost: int | None = None
    realized_pnl: int | None = None
    fees_paid: int | None = None


class _Position(_Frame, tag=m.WIRE_TYPE[m.MarketPosition]):
    msg: _PositionMsg


class _UserOrderMsg(msgspec.Struct, gc=False):
    order_id: Id
    ticker: Ticker_ | None = None
    market_ticker: Ticker_ | None = None
    status: Annotated[str, msgspec.Meta(max_length=32)] = ""
    outcome_side: Side | None = None
    side: Side | None = None  # deprecated with outcome_side, as on fills
    book_side: Side | None = None
    yes_price_dollars: Num | None = None
    no_price_dollars: Num | None = None
    fill_count_fp: Num | None = None
    remaining_count_fp: Num | None = None
    initial_count_fp: Num | None = None
    taker_fees_dollars: Num | None = None
    maker_fees_dollars: Num | None = None
    client_order_id: Id | None = None
    created_ts_ms: int | None = None
    last_updated_ts_ms: int | None = None
    last_update_reason: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class _UserOrder(_Frame, tag=m.WIRE_TYPE[m.UserOrder]):
    msg: _UserOrderMsg


class _Range(msgspec.Struct, gc=False):
    start: Num
    end: Num
    step: Num


class _LifecycleMsg(msgspec.Struct, gc=False):
    market_ticker: Ticker_
    event_type: Annotated[str, msgspec.Meta(max_length=64)]
    result: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    close_ts: int | None = None
    price_ranges: list[_Range] | None = None


class _Lifecycle(_Frame, tag=m.WIRE_TYPE[m.Lifecycle]):
    msg: _LifecycleMsg


_WIRE_TYPES: tuple[type[_Frame], ...] = (
    _Subscribed,
    _Ok,
    _Unsubscribed,
    _Error,
    _Snapshot,
    _Delta,
    _Ticker,
    _Trade,
    _Fill,
    _Position,
    _UserOrder,
    _Lifecycle,
)
_BY_TAG: dict[str, type[_Frame]] = {t.__struct_config__.tag: t for t in _WIRE_TYPES}  # type: ignore[misc]
_fast = msgspec.json.Decoder(
    _Subscribed
    | _Ok
    | _Unsubscribed
    | _Error
    | _Snapshot
    | _Delta
    | _Ticker
    | _Trade
    | _Fill
    | _Position
    | _UserOrder
    | _Lifecycle
)
_generic = msgspec.json.Decoder()


class _Envelope(msgspec.Struct, gc=False):
    type: Annotated[str, msgspec.Meta(max_length=64)]
    sid: int | None = None
    seq: int | None = None
    id: int | None = None


# ---- conversion wire -> typed message ------------------------------------------------------


def _opt_price(v: Num | None) -> int | None:
    return None if v is None or v == "" else parse_price(v)


def _opt_money(v: Num | None) -> int | None:
    return None if v is None or v == "" else parse_money(v)


def _money_or_legacy(v: Num | None, legacy: int | None) -> int | None:
    if v is None or v == "":
        return None if legacy is None else legacy * PRICE_AS_MONEY
    return parse_money(v)


def _opt_size(v: Num | None) -> int | None:
    return None if v is None or v == "" else parse_size(v)


def _levels(raw: list[tuple[Num, Num]]) -> list[m.Level]:
    return [(parse_price(p), parse_size(s)) for p, s in raw]


def _side(v: str | None, what: str) -> str:
    if v == "yes" or v == "no":
        return v
    raise ProtocolError(f"{what} must be yes or no, got {str(v)[:12]!r}")


def _ok(f: _Ok) -> m.Ok:
    tickers = f.market_tickers
    subs = f.subscriptions
    if isinstance(f.msg, dict):
        tickers = f.msg.get("market_tickers", tickers)
        subs = f.msg.get("subscriptions", subs)
    elif isinstance(f.msg, list):
        subs = f.msg
    subscriptions = None
    if subs is not None:
        try:
            subscriptions = tuple((str(s["channel"]), int(s["sid"])) for s in subs)
        except (TypeError, KeyError, ValueError):
            raise ProtocolError("ok: malformed subscriptions list") from None
    if tickers is not None and (
        not isinstance(tickers, list) or not all(isinstance(t, str) for t in tickers)
    ):
        raise ProtocolError("ok: market_tickers must be a list of strings")
    return m.Ok(
        sid=f.sid,
        seq=f.seq,
        id=f.id,
        market_tickers=tuple(tickers) if tickers is not None else None,
        subscriptions=subscriptions,
    )


def _user_order(f: _UserOrder) -> m.UserOrder:
    o = f.msg
    ticker = o.ticker or o.market_ticker
    if not ticker:
        raise ProtocolError("user_order: no ticker")
    if o.yes_price_dollars is not None and o.yes_price_dollars != "":
        yes_price = parse_price(o.yes_price_dollars)
    elif o.no_price_dollars is not None and o.no_price_dollars != "":
        yes_price = 10_000 - parse_price(o.no_price_dollars)
    else:
        raise ProtocolError("user_order: no price")
    side = _side(o.outcome_side or o.side, "order side")
    book_side = o.book_side or "bid"
    if book_side != "bid" and book_side != "ask":
        raise ProtocolError(f"user_order: book side must be bid or ask, got {book_side[:12]!r}")
    return m.UserOrder(
        sid=f.sid,
        seq=f.seq,
        order_id=o.order_id,
        market_ticker=ticker,
        status=o.status,
        side=side,
        book_side=book_side,
        yes_price=yes_price,
        filled=_opt_size(o.fill_count_fp) or 0,
        remaining=_opt_size(o.remaining_count_fp) or 0,
        initial=_opt_size(o.initial_count_fp) or 0,
        taker_fees=_opt_money(o.taker_fees_dollars) or 0,
        maker_fees=_opt_money(o.maker_fees_dollars) or 0,
        client_order_id=o.client_order_id,
        created_ts_ms=o.created_ts_ms,
        updated_ts_ms=o.last_updated_ts_ms,
        reason=o.last_update_reason,
    )


def _convert(f: _Frame) -> m.AnyMessage:
    t = type(f)
    if t is _Delta:  # 80 % of a busy stream: kept to the bare minimum of calls
        d = f.msg  # type: ignore[attr-defined]
        side = d.side
        if side != "yes" and side != "no":
            _side(side, "side")
        return m.OrderbookDelta(
            sid=f.sid,
            seq=f.seq,
            market_ticker=d.market_ticker,
            side=side,
            price=parse_price(d.price_dollars),
            delta=parse_size(d.delta_fp),
            ts_ms=d.ts_ms,
            client_order_id=d.client_order_id,
        )
    if t is _Ticker:
        k = f.msg  # type: ignore[attr-defined]
        return m.Ticker(
            sid=f.sid,
            seq=f.seq,
            market_ticker=k.market_ticker,
            price=_opt_price(k.price_dollars),
            yes_bid=_opt_price(k.yes_bid_dollars),
            yes_ask=_opt_price(k.yes_ask_dollars),
            yes_bid_size=_opt_size(k.yes_bid_size_fp),
            yes_ask_size=_opt_size(k.yes_ask_size_fp),
            volume=_opt_size(k.volume_fp),
            open_interest=_opt_size(k.open_interest_fp),
            dollar_volume=k.dollar_volume,
            dollar_open_interest=k.dollar_open_interest,
            ts_ms=k.ts_ms,
        )
    if t is _Snapshot:
        s = f.msg  # type: ignore[attr-defined]
        return m.OrderbookSnapshot(
            sid=f.sid,
            seq=f.seq,
            id=f.id,
            market_ticker=s.market_ticker,
            market_id=s.market_id,
            yes=_levels(s.yes_dollars_fp),
            no=_levels(s.no_dollars_fp),
        )
    if t is _Trade:
        r = f.msg  # type: ignore[attr-defined]
        yes_price = parse_price(r.yes_price_dollars)
        no_price = _opt_price(r.no_price_dollars)
        return m.Trade(
            sid=f.sid,
            seq=f.seq,
            trade_id=r.trade_id,
            market_ticker=r.market_ticker,
            yes_price=yes_price,
            no_price=10_000 - yes_price if no_price is None else no_price,
            count=parse_size(r.count_fp),
            taker_side=_side(r.taker_outcome_side or r.taker_side, "taker side"),
            taker_book_side=r.taker_book_side,
            is_block_trade=r.is_block_trade,
            ts_ms=r.ts_ms,
        )
    if t is _Subscribed:
        return m.Subscribed(
            sid=f.msg.sid,
            seq=f.seq,
            id=f.id,  # type: ignore[attr-defined]
            channel=f.msg.channel,
        )  # type: ignore[attr-defined]
    if t is _Ok:
        return _ok(f)  # type: ignore[arg-type]
    if t is _Unsubscribed:
        return m.Unsubscribed(sid=f.sid, seq=f.seq, id=f.id)
    if t is _Error:
        e = f.msg  # type: ignore[attr-defined]
        tickers = tuple(e.market_tickers or ()) or ((e.market_ticker,) if e.market_ticker else ())
        return m.Error(sid=f.sid, seq=f.seq, id=f.id, code=e.code, text=e.msg, market_tickers=tickers)
    if t is _Fill:
        x = f.msg  # type: ignore[attr-defined]
        ts_ms = x.ts_ms if x.ts_ms is not None else (x.ts * 1000 if type(x.ts) is int else None)
        return m.Fill(
            sid=f.sid,
            seq=f.seq,
            trade_id=x.trade_id,
            order_id=x.order_id,
            market_ticker=x.market_ticker,
            side=_side(x.outcome_side or x.purchased_side or x.side, "fill side"),
            action=x.action or "buy",  # outcome_side is the side bought (sell NO = buy YES)
            yes_price=parse_price(x.yes_price_dollars),
            count=parse_size(x.count_fp),
            fee=_opt_money(x.fee_cost) or 0,
            is_taker=x.is_taker,
            book_side=x.book_side,
            post_position=_opt_size(x.post_position_fp),
            client_order_id=x.client_order_id,
            ts_ms=ts_ms,
        )
    if t is _Position:
        p = f.msg  # type: ignore[attr-defined]
        return m.MarketPosition(
            sid=f.sid,
            seq=f.seq,
            market_ticker=p.market_ticker,
            position=parse_size(p.position_fp),
            position_cost=_money_or_legacy(p.position_cost_dollars, p.position_cost),
            realized_pnl=_money_or_legacy(p.realized_pnl_dollars, p.realized_pnl),
            fees_paid=_money_or_legacy(p.fees_paid_dollars, p.fees_paid),
            volume=_opt_size(p.volume_fp),
        )
    if t is _UserOrder:
        return _user_order(f)  # type: ignore[arg-type]
    if t is _Lifecycle:
        c = f.msg  # type: ignore[attr-defined]
        ranges = None
        if c.price_ranges is not None:
            ranges = tuple(
                (parse_price(r.start), parse_price(r.end), parse_price(r.step)) for r in c.price_ranges
            )
        return m.Lifecycle(
            sid=f.sid,
            seq=f.seq,
            market_ticker=c.market_ticker,
            event_type=c.event_type,
            result=c.result,
            close_ts=c.close_ts,
            price_ranges=ranges,
        )
    raise AssertionError(t)  # pragma: no cover - every wire type is handled above


# ---- legacy integer-cent fields, read only when the dollar field is absent ------------------


def _cents(v: Any) -> Any:
    return format_price(v * 100) if type(v) is int else v


_LEGACY: dict[str, tuple[tuple[str, str, bool], ...]] = {
    # type: (old field, new field, old field is cents (else whole contracts))
    "orderbook_delta": (("price", "price_dollars", True), ("delta", "delta_fp", False)),
    "ticker": (
        ("price", "price_dollars", True),
        ("yes_bid", "yes_bid_dollars", True),
        ("yes_ask", "yes_ask_dollars", True),
        ("volume", "volume_fp", False),
        ("open_interest", "open_interest_fp", False),
    ),
    "trade": (
        ("yes_price", "yes_price_dollars", True),
        ("no_price", "no_price_dollars", True),
        ("count", "count_fp", False),
    ),
    "fill": (
        ("yes_price", "yes_price_dollars", True),
        ("count", "count_fp", False),
        ("post_position", "post_position_fp", False),
    ),
    "market_position": (("position", "position_fp", False),),
}


def _upgrade_legacy(kind: str, msg: dict[str, Any]) -> None:
    for old, new, cents in _LEGACY.get(kind, ()):
        if new not in msg and old in msg:
            msg[new] = _cents(msg[old]) if cents else msg[old]
    if kind == "orderbook_snapshot":
        for side in ("yes", "no"):
            legacy = msg.get(side)
            if f"{side}_dollars_fp" not in msg and isinstance(legacy, list):
                msg[f"{side}_dollars_fp"] = [
                    [_cents(lv[0]), lv[1]] if isinstance(lv, list) and len(lv) == 2 else lv for lv in legacy
                ]


def _slow(raw: bytes | str) -> m.AnyMessage:
    try:
        obj = _generic.decode(raw)
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"bad JSON: {str(exc)[:80]}") from None
    except RecursionError:
        raise ProtocolError("JSON nested too deeply") from None
    return decode_obj(obj)


def decode_obj(obj: object) -> m.AnyMessage:
    """Decode an already-parsed frame: the tolerant path, also used for REST records
    reshaped as frames (so a backfilled fill is read exactly like a live one)."""
    if not isinstance(obj, dict):
        raise ProtocolError("frame is not a JSON object")
    try:
        env = msgspec.convert(obj, _Envelope)
    except msgspec.ValidationError as exc:
        raise ProtocolError(f"bad envelope: {str(exc)[:80]}") from None
    wire = _BY_TAG.get(env.type)
    if wire is None:
        return m.Unknown(type=env.type, sid=env.sid, seq=env.seq, id=env.id)
    msg = obj.get("msg")
    if isinstance(msg, dict):
        _upgrade_legacy(env.type, msg)
    try:
        frame = msgspec.convert(obj, wire)
    except msgspec.ValidationError as exc:
        raise ProtocolError(f"{env.type}: {str(exc)[:100]}") from None
    return _convert_checked(frame)


def _convert_checked(frame: _Frame) -> m.AnyMessage:
    try:
        return _convert(frame)
    except (ValueError, TypeError) as exc:
        # TypeError: a field of the wrong type that the wire struct leaves open (Any).
        raise ProtocolError(f"{frame.__struct_config__.tag}: {exc}") from None


def decode(raw: bytes | str) -> m.AnyMessage:
    """Decode one text frame. Raises ``ProtocolError`` for anything malformed."""
    try:
        frame = _fast.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return _slow(raw)
    try:  # _convert_checked inlined: this runs for every frame
        return _convert(frame)
    except (ValueError, TypeError) as exc:
        raise ProtocolError(f"{frame.__struct_config__.tag}: {exc}") from None
