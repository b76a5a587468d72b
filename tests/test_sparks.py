"""Sparklines as pure code: candles read exactly, hours bucketed by their candle's end,
scaled to block characters with integer arithmetic, memory bounded at 24 hours a market."""

from __future__ import annotations

from collections import deque

from kalshi_tui.protocol import messages as m
from kalshi_tui.sparks import (
    BLOCKS,
    HOUR,
    HOURS,
    HourCloses,
    Sparks,
    batch_closes,
    candle_closes,
    hour_end,
    scale,
)
from tests.ui_fixtures import rest_fixture

T0 = 1_796_083_200  # an hour boundary (2026-12-01 00:00 UTC)


def trade(ticker: str, price: int, ts: int, n: int = 0) -> m.Trade:
    return m.Trade(
        trade_id=f"t{n}-{ts}",
        market_ticker=ticker,
        yes_price=price,
        no_price=10_000 - price,
        count=100,
        taker_side="yes",
        ts_ms=ts * 1000,
    )


def test_a_second_belongs_to_the_candle_ending_at_or_after_it() -> None:
    assert hour_end(T0) == T0  # end_period_ts is inclusive
    assert hour_end(T0 + 1) == T0 + HOUR
    assert hour_end(T0 - 1) == T0


def test_batch_candles_read_to_exact_closes_with_tradeless_hours_at_their_previous_price() -> None:
    closes = batch_closes(rest_fixture("candlesticks_batch"))
    ticker = "KXHIGHNY-26DEC02-B46.5"
    assert closes[ticker][0] == (1796083200, 3200)
    # The second candle has no trade: its close is null; its previous_dollars "0.3200" carries.
    assert (
        rest_fixture("candlesticks_batch")["markets"][0]["candlesticks"][1]["price"]["close_dollars"] is None
    )
    assert closes[ticker][1] == (1796086800, 3200)


def test_unreadable_candles_are_skipped_not_raised() -> None:
    got = candle_closes(
        [
            {"end_period_ts": "soon"},
            {"end_period_ts": T0, "price": {"close_dollars": "abc", "previous_dollars": "0.4100"}},
            "junk",
            {"end_period_ts": T0 + HOUR, "price": None},
        ]
    )
    assert got == [(T0, 4100), (T0 + HOUR, None)]
    assert batch_closes({"markets": None}) == {}


def test_scaling_spans_low_to_high_in_eight_levels_with_integers() -> None:
    assert scale([1000, 1700, 2400, 1000]) == BLOCKS[0] + BLOCKS[3] + BLOCKS[7] + BLOCKS[0]
    # (v - lo) * 7 // (hi - lo): 1¢ steps over 7¢ land exactly on each block
    assert scale([100 * k for k in range(8)]) == BLOCKS
    assert scale([None, 5000, 5000]) == " " + BLOCKS[3] * 2  # flat: the middle, unknown: blank
    assert scale([None, None]) == "  "


def test_hours_without_a_trade_keep_the_price_before_them() -> None:
    hours = HourCloses()
    hours.set(T0 - 30 * HOUR, 4000)  # before the window: the starting price
    hours.set(T0 - 2 * HOUR, 4500)
    values = hours.values(T0)
    assert len(values) == HOURS
    assert values[:21] == [4000] * 21
    assert values[21:] == [4500, 4500, 4500]


def test_memory_per_market_is_bounded_at_a_day_of_hours() -> None:
    hours = HourCloses()
    for k in range(500):
        hours.set(T0 + k * HOUR, 1000 + k)
    assert len(hours.closes) <= HOURS + 1
    assert hours.values(T0 + 499 * HOUR)[-1] == 1499
    assert hours.values(T0 + 499 * HOUR)[0] == 1499 - 23


def test_live_trades_extend_the_loaded_candles_by_hour() -> None:
    sparks = Sparks()
    sparks.load("A", [(T0 - HOUR, 3000), (T0, 3100)])
    ring: deque[m.Trade] = deque(maxlen=5)
    ring.append(trade("A", 3300, T0 + 10))
    ring.append(trade("B", 9000, T0 + 11))  # not watched: not kept
    ring.append(trade("A", 3500, T0 + HOUR + 1))
    sparks.absorb(ring, {"A"})
    assert sparks.values("A", T0 + HOUR + 1)[-3:] == [3100, 3300, 3500]
    assert "B" not in sparks.markets
    # Seen trades are not counted twice, and a new one is picked up even as the ring turns over.
    ring.append(trade("A", 3600, T0 + HOUR + 2))
    sparks.absorb(ring, {"A"})
    assert sparks.values("A", T0 + HOUR + 2)[-1] == 3600
    text, trend = sparks.draw("A", T0 + HOUR + 2)
    assert trend == 1 and text[-1] == BLOCKS[7] and len(text) == HOURS


def test_a_live_trade_is_not_overwritten_by_candles_arriving_later() -> None:
    sparks = Sparks()
    sparks.add_trade("A", 4200, T0 + 5)
    version = sparks.version
    sparks.load("A", [(T0 + HOUR, 4000), (T0, 3900)])
    assert sparks.markets["A"].closes == {T0 + HOUR: 4200, T0: 3900}
    assert sparks.version == version + 1 and "A" in sparks.loaded
    sparks.forget("A")
    assert "A" not in sparks.markets and "A" not in sparks.loaded


def test_an_hour_leaving_the_window_still_carries_its_price_into_the_oldest_hours() -> None:
    hours = HourCloses()
    hours.set(T0, 5000)
    hours.set(T0 + 2 * HOUR, 5200)
    hours.set(T0 + 25 * HOUR, 5100)  # T0 falls out of the 24 hours held: it is the price before
    assert hours.values(T0 + 25 * HOUR) == [5200] * 23 + [5100]
    assert hours.values(T0 + 26 * HOUR) == [5200] * 22 + [5100] * 2
    hours.set(T0 - 5 * HOUR, 4000)  # older than the price before: ignored
    assert hours.closes == {T0: 5000, T0 + 2 * HOUR: 5200, T0 + 25 * HOUR: 5100}
    hours.set(T0 + 100 * HOUR, 6000)  # a jump past the whole window
    assert hours.values(T0 + 100 * HOUR) == [5100] * 23 + [6000]
