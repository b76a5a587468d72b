"""Money (fees, costs, P&L) with six decimals: read exactly, held in 1/1,000,000 $, never lost.

A fee or a position cost is a price times a fractional size, so the exchange writes it with
six places ("0.012345"); prices keep four. Pure code: decoder, store, cells, tail's JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshi_tui.numbers import MONEY_SCALE, format_money, format_price, format_size
from kalshi_tui.protocol import ProtocolError, decode
from kalshi_tui.protocol import messages as m
from kalshi_tui.rest import fill_from_rest
from kalshi_tui.store import Store
from kalshi_tui.tail import event_json
from kalshi_tui.ui import cells
from kalshi_tui.ui.fills import fill_cells
from tests.frames import captured

#: the full range the parsers take: 30 whole digits
MONEY_MAX = (10**30 - 1) * MONEY_SCALE


def fill_frame(**fields: Any) -> str:
    msg = {
        "trade_id": "t-1",
        "order_id": "o-1",
        "market_ticker": "KXFED-26DEC-T4.00",
        "is_taker": True,
        "outcome_side": "yes",
        "book_side": "bid",
        "action": "buy",
        "yes_price_dollars": "0.5600",
        "count_fp": "0.35",
        "fee_cost": "0.012345",
        "post_position_fp": "0.35",
        "ts_ms": 1_700_000_000_000,
        **fields,
    }
    return json.dumps({"type": "fill", "sid": 3, "msg": msg})


def position_frame(**fields: Any) -> str:
    msg = {
        "market_ticker": "KXFED-26DEC-T4.00",
        "position_fp": "12.34",
        "position_cost_dollars": "6.910400",
        "realized_pnl_dollars": "-0.123457",
        "fees_paid_dollars": "0.012345",
        "volume_fp": "12.34",
        **fields,
    }
    return json.dumps({"type": "market_position", "sid": 4, "msg": msg})


def test_a_fill_with_a_six_decimal_fee_is_read_not_rejected() -> None:
    fill = decode(fill_frame())
    assert isinstance(fill, m.Fill)
    assert fill.fee == 12_345  # $0.012345
    assert (fill.yes_price, fill.count) == (5600, 35)


def test_a_position_with_six_decimal_money_is_read_exactly() -> None:
    pos = decode(position_frame())
    assert isinstance(pos, m.MarketPosition)
    assert (pos.position_cost, pos.realized_pnl, pos.fees_paid) == (6_910_400, -123_457, 12_345)
    # 12.34 contracts at $0.56 cost exactly $6.9104: a price times a size is money.
    assert pos.position_cost == 5600 * 1234


def test_a_rest_fill_with_a_six_decimal_fee_is_backfilled() -> None:
    fill = fill_from_rest(
        {
            "trade_id": "t-9",
            "order_id": "o-9",
            "ticker": "KXFED-26DEC-T4.00",
            "side": "no",
            "action": "buy",
            "count_fp": "2.50",
            "yes_price_dollars": "0.4100",
            "fee_cost": "0.030975",
            "created_time": "2026-08-17T12:00:00Z",
        }
    )
    assert fill.fee == 30_975 and fill.backfilled


@pytest.mark.parametrize(
    "frame",
    [
        fill_frame(fee_cost="0.0123451"),  # money: 7 decimals
        fill_frame(yes_price_dollars="0.560001"),  # a price stays 4 decimals
        position_frame(realized_pnl_dollars="1.0000001"),
        position_frame(fees_paid_dollars=0.0000001),  # a JSON number too
    ],
)
def test_more_decimals_than_the_unit_are_malformed(frame: str) -> None:
    with pytest.raises(ProtocolError, match=r"more than [46] decimals"):
        decode(frame)


def test_captured_frames_read_money_in_millionths() -> None:
    new = {r["frame"]["type"]: r["frame"] for r in captured()}
    fill = decode(json.dumps(new["fill"]))
    assert isinstance(fill, m.Fill) and fill.fee == 10_000  # "0.010000"
    pos = decode(json.dumps(new["market_position"]))
    assert isinstance(pos, m.MarketPosition)
    assert (pos.position_cost, pos.realized_pnl, pos.fees_paid) == (50_000_000, 10_000_000, 1_000_000)
    # The pre-2026 shape: integers in 1/10,000 $ (position_cost 500000 = $50.00).
    legacy = [r["frame"] for r in captured("frames-legacy.jsonl") if r["frame"]["type"] == "market_position"]
    assert legacy
    for frame in legacy:
        old = decode(json.dumps(frame))
        assert isinstance(old, m.MarketPosition)
        msg = frame["msg"]
        assert old.position_cost == msg["position_cost"] * 100 == 50_000_000
        assert old.realized_pnl == msg["realized_pnl"] * 100
        assert old.fees_paid == msg["fees_paid"] * 100


@given(
    st.integers(min_value=0, max_value=MONEY_MAX),
    st.integers(min_value=-MONEY_MAX, max_value=MONEY_MAX),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=1, max_value=10**9),
)
def test_any_money_round_trips_through_the_decoder(fee: int, pnl: int, price: int, size: int) -> None:
    fill = decode(fill_frame(fee_cost=format_money(fee), yes_price_dollars=format_price(price)))
    assert isinstance(fill, m.Fill)
    assert type(fill.fee) is int and fill.fee == fee and fill.yes_price == price
    pos = decode(
        position_frame(
            position_fp=format_size(size),
            position_cost_dollars=format_money(price * size),
            realized_pnl_dollars=format_money(pnl),
        )
    )
    assert isinstance(pos, m.MarketPosition)
    assert (pos.position_cost, pos.realized_pnl) == (price * size, pnl)
    assert all(type(v) is int for v in (pos.position, pos.position_cost, pos.realized_pnl))


def test_the_store_totals_fees_exactly() -> None:
    store = Store()
    fees = ["0.012345", "0.000001", "1.250000", "0.0175"]
    for i, fee in enumerate(fees):
        store.apply(decode(fill_frame(trade_id=f"t-{i}", fee_cost=fee)))
    store.apply(decode(position_frame()))
    assert len(store.fills) == len(fees)  # none lost
    assert store.total_fees() == 12_345 + 1 + 1_250_000 + 17_500
    assert store.positions["KXFED-26DEC-T4.00"].fees_paid == 12_345


@pytest.mark.parametrize(
    "units, text",
    [
        (12_345, "$0.012345"),
        (1_250_000, "$1.25"),
        (17_500, "$0.0175"),
        (10_000, "$0.01"),
        (0, "$0.00"),
        (-1, "-$0.000001"),
        (1_234_567_890_123, "$1,234,567.890123"),
        (None, cells.DASH),
    ],
)
def test_money_on_screen_keeps_every_digit(units: int | None, text: str) -> None:
    assert cells.dollars(units) == text


def test_the_fills_tab_shows_a_six_decimal_fee() -> None:
    fill = decode(fill_frame())
    assert isinstance(fill, m.Fill)
    assert ("$0.012345", "dim") in fill_cells(fill)


def test_tail_writes_money_with_six_places_and_prices_with_four() -> None:
    fill = event_json(decode(fill_frame()))
    assert (fill["fee"], fill["yes_price"], fill["count"]) == ("0.012345", "0.5600", "0.35")
    pos = event_json(decode(position_frame()))
    assert (pos["position_cost"], pos["realized_pnl"], pos["fees_paid"]) == (
        "6.910400",
        "-0.123457",
        "0.012345",
    )
