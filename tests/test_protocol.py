"""The decoder against real captured frames, hostile input, and the command builders."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshi_tui.protocol import (
    ERROR_CODES,
    Error,
    Fill,
    Lifecycle,
    MarketPosition,
    Message,
    Ok,
    OrderbookDelta,
    OrderbookSnapshot,
    ProtocolError,
    Subscribed,
    Ticker,
    Trade,
    Unknown,
    Unsubscribed,
    UserOrder,
    commands,
    decode,
    describe,
)
from kalshi_tui.protocol.messages import DATA_TYPES, WIRE_TYPE
from tests.frames import captured, recovery_session

EXPECTED = {
    "subscribed": Subscribed,
    "ok": Ok,
    "unsubscribed": Unsubscribed,
    "error": Error,
    "orderbook_snapshot": OrderbookSnapshot,
    "orderbook_delta": OrderbookDelta,
    "ticker": Ticker,
    "trade": Trade,
    "fill": Fill,
    "market_position": MarketPosition,
    "market_lifecycle_v2": Lifecycle,
    "user_order": UserOrder,
}


@pytest.mark.parametrize("name", ["frames-new.jsonl", "frames-legacy.jsonl"])
def test_every_captured_frame_decodes_to_its_type(name: str) -> None:
    records = captured(name)
    assert len(records) > 20
    for rec in records:
        frame = rec["frame"]
        msg = decode(json.dumps(frame))
        want = EXPECTED.get(frame["type"], Unknown)
        assert type(msg) is want, rec.get("note")
        assert msg.seq == frame.get("seq")


def test_snapshot_levels_are_exact_integers() -> None:
    raw = {
        "type": "orderbook_snapshot",
        "sid": 1,
        "seq": 1,
        "msg": {
            "market_ticker": "KXGOLDH-26AUG2711-T4615.99",
            "market_id": "x",
            "yes_dollars_fp": [["0.0100", "1410.00"]],
            "no_dollars_fp": [["0.0100", "100.00"], ["0.0200", "2500.00"]],
        },
    }
    msg = decode(json.dumps(raw))
    assert isinstance(msg, OrderbookSnapshot)
    assert msg.yes == [(100, 141000)]
    assert msg.no == [(100, 10000), (200, 250000)]


def test_empty_snapshot_has_empty_sides() -> None:
    for rec in captured():
        frame = rec["frame"]
        if frame["type"] == "orderbook_snapshot" and "yes_dollars_fp" not in frame["msg"]:
            msg = decode(json.dumps(frame))
            assert isinstance(msg, OrderbookSnapshot)
            assert msg.yes == [] and msg.no == []
            break
    else:
        pytest.fail("captured frames should include an empty snapshot")


def test_control_frames_carry_sid_and_seq() -> None:
    err = decode(b'{"type":"error","sid":4,"seq":4,"msg":{"code":14,"msg":"Market Ticker required"}}')
    assert isinstance(err, Error) and (err.sid, err.seq, err.code) == (4, 4, 14)
    ok = decode(b'{"type":"ok","id":2,"sid":1,"seq":108,"msg":{"market_tickers":["A","B"]}}')
    assert isinstance(ok, Ok) and ok.market_tickers == ("A", "B") and ok.seq == 108


def test_ok_variants_top_level_and_list() -> None:
    top = decode(b'{"id":123,"sid":456,"seq":222,"type":"ok","market_tickers":["M1","M2"]}')
    assert isinstance(top, Ok) and top.market_tickers == ("M1", "M2")
    listed = decode(b'{"id":3,"type":"ok","msg":[{"channel":"ticker","sid":2}]}')
    assert isinstance(listed, Ok) and listed.subscriptions == (("ticker", 2),)
    listed2 = decode(b'{"id":3,"type":"ok","subscriptions":[{"channel":"fill","sid":9}]}')
    assert isinstance(listed2, Ok) and listed2.subscriptions == (("fill", 9),)


def test_numbers_instead_of_strings_are_read_exactly() -> None:
    msg = decode(
        b'{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"M",'
        b'"price_dollars":0.56,"delta_fp":-3,"side":"no"}}'
    )
    assert isinstance(msg, OrderbookDelta)
    assert (msg.price, msg.delta, msg.side) == (5600, -300, "no")


def test_legacy_cent_fields_are_read_when_dollars_are_absent() -> None:
    msg = decode(
        b'{"type":"orderbook_delta","sid":1,"seq":3,"msg":{"market_ticker":"M",'
        b'"price":51,"delta":-1,"side":"no"}}'
    )
    assert isinstance(msg, OrderbookDelta) and (msg.price, msg.delta) == (5100, -100)


def test_empty_last_price_is_none() -> None:
    msg = decode(
        b'{"type":"ticker","sid":1,"msg":{"market_ticker":"M","price_dollars":"","yes_bid_dollars":"0.4000"}}'
    )
    assert isinstance(msg, Ticker) and msg.price is None and msg.yes_bid == 4000


def test_unknown_type_and_fields_are_tolerated() -> None:
    msg = decode(b'{"type":"brand_new","sid":5,"seq":9,"msg":{"x":1}}')
    assert isinstance(msg, Unknown) and (msg.type, msg.sid, msg.seq) == ("brand_new", 5, 9)
    delta = decode(
        b'{"type":"orderbook_delta","sid":1,"seq":2,"extra":{"a":[1]},"msg":'
        b'{"market_ticker":"M","price_dollars":"0.5","delta_fp":"1","side":"yes","new":7}}'
    )
    assert isinstance(delta, OrderbookDelta) and delta.price == 5000


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"{not json", "bad JSON"),
        (b"[1,2,3]", "not a JSON object"),
        (b'{"sid":1}', "envelope"),
        (
            b'{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"M","side":"yes"}}',
            "orderbook_delta",
        ),
        (
            b'{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"M","price_dollars":"0.1",'
            b'"delta_fp":"1_0","side":"yes"}}',
            "not a decimal",
        ),
        (
            b'{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"M","price_dollars":"0.1",'
            b'"delta_fp":"1","side":"maybe"}}',
            "yes or no",
        ),
        (b'{"type":"ticker","sid":"one","msg":{"market_ticker":"M"}}', "envelope"),
        (
            b'{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"M","price_dollars":'
            b'"0.123456","delta_fp":"1","side":"yes"}}',
            "decimals",
        ),
    ],
)
def test_malformed_frames_raise_one_error_type(raw: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(raw)
    assert reason in info.value.reason
    assert len(info.value.reason) < 200


def test_huge_strings_and_deep_nesting_are_rejected_briefly() -> None:
    big = json.dumps({"type": "ticker", "msg": {"market_ticker": "M" * 1_000_000}})
    with pytest.raises(ProtocolError) as info:
        decode(big)
    assert len(info.value.reason) < 200
    deep = b'{"type":"ticker","msg":' + b"[" * 5000 + b"]" * 5000 + b"}"
    with pytest.raises(ProtocolError):
        decode(deep)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_other_exceptions(raw: bytes) -> None:
    try:
        msg = decode(raw)
    except ProtocolError as exc:
        assert exc.reason and len(exc.reason) < 200
    else:
        assert isinstance(msg, Message)


def test_recorded_recovery_session_decodes_in_order() -> None:
    frames = recovery_session()
    msgs = [decode(json.dumps(f)) for f in frames]
    seqs = [x.seq for x in msgs if x.sid == 1 and x.seq is not None]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "sid 1 seq must be contiguous"
    answers = [x for x in msgs if isinstance(x, OrderbookSnapshot) and x.id == 2]
    assert len(answers) == 3


def test_every_reference_error_code_has_a_sentence() -> None:
    for code in [*range(1, 23), 25, 26, 27]:
        entry = describe(code)
        assert entry.sentence.endswith(".") and entry.name != "unknown"
    assert ERROR_CODES[25].terminal and ERROR_CODES[10].terminal
    assert not ERROR_CODES[27].terminal
    assert "99" in describe(99).sentence


def test_command_builders() -> None:
    ids = commands.CommandIds()
    first, second = ids(), ids()
    assert (first, second) == (1, 2)
    sub = msgspec.json.decode(commands.subscribe(1, ["orderbook_delta"], ["A", "B"], use_yes_price=True))
    assert sub == {
        "id": 1,
        "cmd": "subscribe",
        "params": {"channels": ["orderbook_delta"], "market_tickers": ["A", "B"], "use_yes_price": True},
    }
    upd = msgspec.json.decode(commands.update_subscription(3, 7, commands.GET_SNAPSHOT, ["A"]))
    assert upd == {
        "id": 3,
        "cmd": "update_subscription",
        "params": {"sids": [7], "action": "get_snapshot", "market_tickers": ["A"]},
    }
    assert msgspec.json.decode(commands.unsubscribe(4, [1, 2]))["params"] == {"sids": [1, 2]}
    assert msgspec.json.decode(commands.list_subscriptions(5))["cmd"] == "list_subscriptions"


# A user_order frame as the exchange documents it (kalshi-rest.md, "Account channels") and the
# simulator sends it: the market is ``ticker`` here, fees have six places, no seq.
USER_ORDER = {
    "type": "user_order",
    "sid": 7,
    "msg": {
        "order_id": "0d3c4a53-5b3e-4e2e-9d0b-6a0f5b1d2c3e",
        "client_order_id": "sim-order-1",
        "ticker": "KXHIGHNY-26DEC02-B46.5",
        "status": "resting",
        "outcome_side": "no",
        "book_side": "ask",
        "type": "limit",
        "yes_price_dollars": "0.3350",
        "no_price_dollars": "0.6650",
        "fill_count_fp": "2.00",
        "remaining_count_fp": "10.50",
        "initial_count_fp": "12.50",
        "taker_fees_dollars": "0.000000",
        "maker_fees_dollars": "0.007739",
        "created_ts_ms": 1764597600123,
        "last_updated_ts_ms": 1764597660456,
        "last_update_reason": "fill",
    },
}


def test_user_order_frame_decodes_to_exact_integers() -> None:
    msg = decode(json.dumps(USER_ORDER))
    assert msg == UserOrder(
        sid=7,
        seq=None,
        order_id="0d3c4a53-5b3e-4e2e-9d0b-6a0f5b1d2c3e",
        market_ticker="KXHIGHNY-26DEC02-B46.5",
        status="resting",
        side="no",
        book_side="ask",
        yes_price=3350,
        filled=200,
        remaining=1050,
        initial=1250,
        taker_fees=0,
        maker_fees=7739,
        client_order_id="sim-order-1",
        created_ts_ms=1764597600123,
        updated_ts_ms=1764597660456,
        reason="fill",
    )
    assert WIRE_TYPE[UserOrder] == "user_order" and UserOrder in DATA_TYPES


def test_user_order_older_names_and_a_canceled_order() -> None:
    body = dict(USER_ORDER["msg"])  # type: ignore[call-overload]
    for key in ("ticker", "outcome_side", "yes_price_dollars", "last_updated_ts_ms", "client_order_id"):
        del body[key]
    body |= {"market_ticker": "M-1", "side": "yes", "status": "canceled", "remaining_count_fp": "0.00"}
    msg = decode(json.dumps({"type": "user_order", "sid": 7, "msg": body}))
    assert isinstance(msg, UserOrder)
    assert (msg.market_ticker, msg.side, msg.status, msg.remaining) == ("M-1", "yes", "canceled", 0)
    assert msg.yes_price == 3350  # from no_price_dollars: 1 - 0.6650
    assert msg.updated_ts_ms is None and msg.client_order_id is None


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"outcome_side": "maybe"}, "yes or no"),
        ({"book_side": "middle"}, "bid or ask"),
        ({"ticker": None}, "no ticker"),
        ({"yes_price_dollars": None, "no_price_dollars": None}, "no price"),
        ({"remaining_count_fp": "1.234"}, "user_order"),
        ({"maker_fees_dollars": "0.0000001"}, "user_order"),
    ],
)
def test_malformed_user_orders_raise_one_error(change: dict[str, object], reason: str) -> None:
    body = {k: v for k, v in (USER_ORDER["msg"] | change).items() if v is not None}  # type: ignore[operator]
    with pytest.raises(ProtocolError) as info:
        decode(json.dumps({"type": "user_order", "sid": 7, "msg": body}))
    assert reason in info.value.reason
