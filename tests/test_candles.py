"""Candles as pure data: Kalshi's shape read exactly, trades folded in live, memory bounded,
and the chart's scaling in exact integers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from kalshi_tui import candles as cd
from kalshi_tui.candles import Candle, ChartHistory, Series
from tests.ui_fixtures import rest_fixture


def test_kalshis_candles_are_read_exactly_and_a_tradeless_period_carries_the_close() -> None:
    got = cd.candles_from_rest(rest_fixture("candlesticks")["candlesticks"])
    assert got == [
        Candle(1796083200, 3100, 3300, 3000, 3200, 31000),
        Candle(1796086800, 3200, 3200, 3200, 3200, 0),  # null prices: previous_dollars, flat
    ]
    # No trade and no previous price anywhere: nothing to draw, not a 0¢ candle.
    assert cd.candles_from_rest([{"end_period_ts": 60, "price": {"close_dollars": None}}]) == []


def test_period_ends_are_inclusive_and_daily_ones_at_midnight_eastern() -> None:
    assert cd.period_end(120_000, 1) == 120  # on the boundary: that minute's candle
    assert cd.period_end(120_001, 1) == 180
    assert cd.period_end(3_599_999, 60) == 3600
    eastern = ZoneInfo("America/New_York")
    noon = dt.datetime(2026, 8, 27, 12, tzinfo=eastern)
    midnight = dt.datetime(2026, 8, 28, tzinfo=eastern)
    assert cd.period_end(int(noon.timestamp() * 1000), 1440) == int(midnight.timestamp())
    assert midnight.timestamp() % 86_400 == 4 * 3600  # EDT: 04:00 UTC, not a UTC day


def test_trades_extend_the_last_candle_or_open_a_new_one_once_each() -> None:
    s = Series(1, [Candle(120, 5000, 5100, 4900, 5000, 100)], fetched_at=0.0, since_ms=100_000)
    assert not s.add_trade(6000, 1, 100_000)  # at or before the fetch: already in the candles
    assert s.add_trade(5200, 300, 110_000)  # same minute (ends at 120 s)
    assert s.candles[-1] == Candle(120, 5000, 5200, 4900, 5200, 400)
    assert s.add_trade(4800, 50, 121_000)  # the next minute: a new candle
    assert list(s.candles)[-1] == Candle(180, 4800, 4800, 4800, 4800, 50)
    assert not s.add_trade(4700, 1, 121_000)  # the same moment again: not counted twice
    assert s.add_trade(4900, 5, 299_000)  # a quiet minute later: it is flat, as REST serves it
    assert list(s.candles)[-3:] == [
        Candle(180, 4800, 4800, 4800, 4800, 50),
        Candle(240, 4800, 4800, 4800, 4800, 0),
        Candle(300, 4900, 4900, 4900, 4900, 5),
    ]
    s.add_trade(5000, 1, 10**12)  # years later: the gap fills at most a deque's worth
    assert len(s.candles) == cd.MAX_CANDLES and s.candles[-1].end_ts == cd.period_end(10**12, 1)


def test_memory_is_bounded_per_series_and_in_all() -> None:
    many = [Candle(60 * i, 5000, 5000, 5000, 5000, 1) for i in range(1, 1001)]
    h = ChartHistory()
    for n in range(cd.MAX_SERIES + 5):
        h.put(f"T{n}", Series(1, many, 0.0, 0))
    assert len(h) == cd.MAX_SERIES and h.get("T0", 1) is None  # the least recently used went
    kept = h.get(f"T{cd.MAX_SERIES + 4}", 1)
    assert kept is not None and len(kept.candles) == cd.MAX_CANDLES
    assert kept.candles[-1].end_ts == 60_000  # the newest are kept
    kept.add_trade(5000, 1, 60_001_000)
    assert len(kept.candles) == cd.MAX_CANDLES


def test_scaling_is_exact_integers() -> None:
    candles = [Candle(60, 4150, 4275, 4010, 4200, 1), Candle(120, 4200, 4630, 4200, 4600, 9)]
    assert cd.price_range(candles) == (4000, 4700)  # widened to whole cents
    lo, hi, rows = 4000, 4700, 8
    # row = round((price - lo) * (rows - 1) / (hi - lo)), halves up
    assert [cd.row_of(p, lo, hi, rows) for p in (4000, 4050, 4049, 4100, 4350, 4700)] == [0, 1, 0, 1, 4, 7]
    assert [cd.price_at_row(r, lo, hi, rows) for r in (0, 3, 7)] == [4000, 4300, 4700]
    assert all(cd.row_of(cd.price_at_row(r, lo, hi, rows), lo, hi, rows) == r for r in range(rows))
    assert cd.row_of(4000, 4000, 4000, 8) == 0 and cd.row_of(4500, lo, hi, 1) == 0
    # volume bars: rows * 8 eighths at the biggest, rounded up so any trade shows
    assert [cd.volume_eighths(v, 900, 3) for v in (900, 450, 1, 0)] == [24, 12, 1, 0]
    assert [cd.volume_cell(12, r) for r in range(3)] == ["█", "▄", " "]
    assert cd.price_range([Candle(60, 5000, 5000, 5000, 5000, 0)]) == (5000, 5100)


def test_a_candles_column_has_its_body_and_wick() -> None:
    cells = cd.candle_cells(Candle(60, 4300, 4700, 4000, 4500, 1), 4000, 4700, 8)
    assert [ch for ch, _ in cells] == ["│", "│", "│", "█", "█", "█", "│", "│"]
    assert {kind for _, kind in cells} == {cd.UP, cd.WICK_UP}
    down = cd.candle_cells(Candle(60, 4500, 4500, 4300, 4300, 1), 4000, 4700, 8)
    assert [kind for _, kind in down][:6] == [cd.BLANK, cd.BLANK, cd.BLANK, cd.DOWN, cd.DOWN, cd.DOWN]


def test_only_the_changed_cells_of_a_chart_line_are_sent() -> None:
    from kalshi_tui.ui.chart import changed_span

    before = (("  █│", "up"), (" 56¢", "axis"))
    after = (("  ██", "up"), (" 56¢", "axis"))
    assert changed_span(before, after, 10) == (3, 4)
    assert changed_span(before, (("  █│", "down"), (" 56¢", "axis")), 10) == (0, 4)  # a colour
    assert changed_span(None, after, 10) == (0, 10)
