"""The watchlist's columns: natural ticker order, "closes in", the 24 h change, sparklines from
the batch candle endpoint (through the REST budget, off the UI path), and the redraws they cost."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from bench.waiting import until
from kalshi_tui.budget import BACKGROUND, WATCHLIST
from kalshi_tui.config import Profile
from kalshi_tui.sparks import HOURS, Sparks
from kalshi_tui.store import MarketMeta, Store
from kalshi_tui.ui.cells import age_text, age_text_lasts, closes_in, closes_in_lasts, natural_key
from kalshi_tui.ui.watchdata import WatchData
from kalshi_tui.ui.watchlist import COLUMNS, clock_cells, day_change, market_row
from tests import ui_fixtures as fx
from tests.test_ui_details import Clock
from tests.ui_fixtures import (
    ticks,
    utc,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.usefixtures("utc")
COL = {c.key: i for i, c in enumerate(COLUMNS)}


# -- pure ------------------------------------------------------------------------------------


def test_tickers_sort_by_the_value_of_their_numbers() -> None:
    tickers = ["KXBTCD-26AUG2717-T100499.99", "KXBTCD-26AUG2717-T99499.99", "KXBTCD-26AUG2717-T9999.99"]
    assert sorted(tickers, key=natural_key) == [
        "KXBTCD-26AUG2717-T9999.99",
        "KXBTCD-26AUG2717-T99499.99",
        "KXBTCD-26AUG2717-T100499.99",
    ]
    assert natural_key("B88.5") == ("B", Decimal("88.5"), "")
    # Text and numbers alternate whatever the ticker: two keys never compare str with Decimal.
    assert sorted(["A-2X", "A-10", "A-B", "A-1"], key=natural_key) == ["A-1", "A-2X", "A-10", "A-B"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (-5, "closed"),
        (0, "closed"),
        (0.2, "1s"),
        (59, "59s"),
        (59.5, "1m"),
        (60, "1m"),
        (119, "1m"),
        (3599, "59m"),
        (3600, "1h00m"),
        (2 * 3600 + 13 * 60 + 59, "2h13m"),
        (86_399, "23h59m"),
        (86_400, "1d00h"),
        (95 * 86_400 + 3 * 3600, "95d03h"),
    ],
)
def test_closes_in_is_whole_minutes_with_seconds_only_in_the_last_minute(
    seconds: float | None, text: str
) -> None:
    assert closes_in(seconds) == text


SECONDS = hs.floats(min_value=0, max_value=200 * 86_400, allow_nan=False)
EPS = 1e-6


@given(SECONDS)
def test_an_age_text_lasts_until_it_changes(age: float) -> None:
    lasts = age_text_lasts(age)
    assert lasts > 0
    if lasts > EPS:
        assert age_text(age + lasts - EPS) == age_text(age)
    assert age_text(age + lasts + EPS) != age_text(age)


@given(SECONDS)
def test_a_closes_in_text_lasts_until_it_changes(left: float) -> None:
    lasts = closes_in_lasts(left)
    if left <= 0:
        assert lasts == float("inf")
        return
    assert lasts > 0
    if lasts > EPS:
        assert closes_in(left - lasts + EPS) == closes_in(left)
    assert closes_in(left - lasts - EPS) != closes_in(left)


def test_the_24h_change_is_against_previous_price() -> None:
    meta = MarketMeta("A", previous_price=2900)
    assert day_change(3250, meta) == 350
    assert day_change(2500, meta) == -400
    assert day_change(None, meta) is None
    assert day_change(3250, MarketMeta("A")) is None  # REST has not said yet
    assert day_change(3250, None) is None


def test_a_row_shows_spread_open_interest_24h_change_and_closes_in() -> None:
    store = fx.build_store()
    ticker = fx.MARKETS[0][0]
    state = store.markets[ticker]
    row = market_row(ticker, state, 1.0, fx.WALL, ("▁▂█" + " " * 21, 1))
    text = {key: row.cells[i][0] for key, i in COL.items()}
    assert state.last_price is not None and state.meta is not None
    assert text["change"] == f"{(state.last_price - 5100) // 100:+d}¢"
    bid, ask = state.book.yes_bid, state.book.yes_ask
    assert bid is not None and ask is not None
    assert text["spread"] == f"{(ask.price - bid.price) // 100}¢"
    assert text["open_interest"] == f"{state.open_interest // 100:,}"  # type: ignore[operator]
    assert text["closes"] == "95d00h"
    assert row.cells[COL["spark"]] == ("▁▂█" + " " * 21, "up")
    assert COLUMNS[COL["change"]].label == "24h"  # labelled: not since the app started
    # The ticker column sorts naturally.
    assert row.sort[COL["ticker"]] == natural_key(ticker)


# -- the REST side: batches, priorities, the 5-minute refresh ----------------------------------


class RecordingRest:
    """Answers like the REST client, recording each call's markets and priority."""

    def __init__(self) -> None:
        self.candle_calls: list[tuple[list[str], int]] = []
        self.market_calls: list[int] = []

    async def markets(self, tickers: Any = None, status: Any = None, priority: int = 0) -> list[MarketMeta]:
        self.market_calls.append(priority)
        return [MarketMeta(t, "t", previous_price=1234 + len(self.market_calls)) for t in tickers]

    async def candle_closes(
        self, tickers: list[str], start_ts: int, end_ts: int, *, period: int = 60, priority: int = 0
    ) -> dict[str, list[tuple[int, int | None]]]:
        assert end_ts - start_ts == HOURS * 3600 and period == 60
        self.candle_calls.append((list(tickers), priority))
        return {t: [(end_ts - end_ts % 3600, 5000)] for t in tickers}


async def test_sparklines_load_in_batches_of_100_and_metadata_refreshes_at_watchlist_priority() -> None:
    rest = RecordingRest()
    store, sparks = Store(), Sparks()
    watched = {f"M-{n}" for n in range(250)}
    data = WatchData(rest, store, sparks, lambda: watched, lambda: fx.WALL, meta_every=0.05)  # type: ignore[arg-type]
    task = asyncio.create_task(data.run())
    try:
        await until(lambda: data.meta_refreshes >= 2, "two metadata refreshes")
    finally:
        task.cancel()
    assert [len(t) for t, _ in rest.candle_calls] == [100, 100, 50]  # each market once
    assert {p for _, p in rest.candle_calls} == {BACKGROUND}
    assert set(rest.market_calls) == {WATCHLIST}
    assert sparks.loaded == watched
    assert store.markets["M-7"].meta.previous_price is not None  # type: ignore[union-attr]


# -- the app -----------------------------------------------------------------------------------


async def test_sparklines_from_rest_are_drawn_and_live_trades_extend_them() -> None:
    rest = fx.FakeRest()
    app = fx.make_app(rest=rest)
    async with app.run_test(size=(160, 30)) as pilot:
        grid = app.watchlist.grid
        ticker = fx.GROUPS["macro"][0]
        await until(
            lambda: (grid.cells(ticker) or [("",)] * 15)[COL["spark"]][0].strip(),
            "a sparkline drawn",
            pilot=pilot,
        )
        assert all(len(call) <= 100 for call in rest.candles_asked)
        n, mid = 0, fx.MARKETS[0][2]
        expected = [v for _, v in fx.hourly_closes(n, mid, int(fx.WALL))]
        assert len(grid.cells(ticker)[COL["spark"]][0]) == HOURS  # type: ignore[index]
        assert app.view.sparks.values(ticker, int(fx.WALL))[-1] == next(
            v for v in reversed(expected) if v is not None
        )
        # A trade now moves the current hour's close: the row's sparkline ends at it.
        top = max(v for v in expected if v is not None) + 500
        app.store.apply(
            fx.frame(
                "trade",
                3,
                trade_id="live-1",
                market_ticker=ticker,
                yes_price_dollars=fx.dollars(top),
                no_price_dollars=fx.dollars(10_000 - top),
                count_fp="1.00",
                taker_outcome_side="yes",
                ts_ms=int(fx.WALL * 1000),
            )
        )
        await until(
            lambda: grid.cells(ticker)[COL["spark"]][0][-1] == "█", "the live trade drawn", pilot=pilot
        )  # type: ignore[index]


async def test_natural_sort_by_market() -> None:
    tickers = ["KXBTCD-26AUG2717-T100499.99", "KXBTCD-26AUG2717-T99499.99", "KXBTCD-26AUG2717-T9999.99"]
    profile = Profile.create("main", "demo", watchlists={"btc": tickers}, theme="kalshi-dark")
    app = fx.make_app(Store(clock=lambda: fx.NOW), profile=profile)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.watchlist.grid.has_focus, "the grid has the keyboard", pilot=pilot)
        await pilot.press("s")  # sort by the first column: Market
        await until(lambda: app.watchlist.grid.sort_column == 0, "sorted by market", pilot=pilot)
        assert app.watchlist.grid.row_keys == sorted(tickers, key=natural_key)
        assert app.watchlist.grid.row_keys[0].endswith("T9999.99")


async def test_closes_in_counts_seconds_in_the_last_minute_and_a_quiet_screen_draws_once_a_second() -> None:
    clock, wall = Clock(fx.NOW), Clock(fx.WALL)
    app = fx.make_app(clock=clock, wall_clock=wall)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.watchlist.grid.has_focus, "the grid has the keyboard", pilot=pilot)
        await pilot.press("full_stop")  # crypto: ETH closes in 45 s, BTC in 40 min
        grid = app.watchlist.grid
        eth, btc = fx.MARKETS[5][0], fx.MARKETS[4][0]
        await until(
            lambda: grid.cells(eth) is not None and app.current_group == "crypto", "crypto shown", pilot=pilot
        )
        assert grid.cells(eth)[COL["closes"]][0] == "45s"  # type: ignore[index]
        assert grid.cells(btc)[COL["closes"]][0] == "40m"  # type: ignore[index]
        await ticks(app, pilot, 5)
        drawn = grid.lines_rendered
        await ticks(app, pilot, 10)
        assert grid.lines_rendered == drawn  # the same second: nothing to draw
        await until(lambda: app.dozing, "the quiet app dozes", pilot=pilot)
        clock.t += 1
        wall.t += 1
        await until(lambda: grid.cells(eth)[COL["closes"]][0] == "44s", "the next second", pilot=pilot)  # type: ignore[index]
        assert grid.cells(btc)[COL["closes"]][0] == "40m"  # type: ignore[index]
        # The cells change in the tick; the screen draws them a moment later.
        await until(lambda: grid.lines_rendered > drawn, "the next second drawn", pilot=pilot)
        drawn = grid.lines_rendered
        await ticks(app, pilot, 10)
        assert grid.lines_rendered == drawn


async def test_a_quiet_watchlist_looks_at_its_clocks_only_in_the_seconds_a_text_changes() -> None:
    clock, wall = Clock(fx.NOW), Clock(fx.WALL)
    app = fx.make_app(clock=clock, wall_clock=wall)
    async with app.run_test(size=(100, 30)) as pilot:
        pane, grid = app.watchlist, app.watchlist.grid
        await until(lambda: grid.row_count > 0, "rows drawn", pilot=pilot)
        store = app.store

        def clock_texts() -> dict[str, tuple[object, object]]:
            return {k: (grid.cells(k)[COL["closes"]], grid.cells(k)[COL["age"]]) for k in grid.visible_keys()}  # type: ignore[index]

        await ticks(app, pilot, 2)
        before, passes, looked = clock_texts(), pane.clock_passes, 0
        for _ in range(150):  # ages step by 10 s, then by a minute; countdowns by a minute
            clock.t += 1
            wall.t += 1
            await ticks(app, pilot, 1)
            now = clock_texts()
            # Every clock text on screen is what the time says ...
            for ticker, texts in now.items():
                want = clock_cells(store.markets.get(ticker), store.age(ticker, clock.t), wall.t)[:2]
                assert texts == want, f"{ticker} at +{clock.t - fx.NOW:.0f} s"
            # ... and the pass ran only in the seconds in which one of them changed.
            assert (pane.clock_passes > passes) == (now != before)
            looked += pane.clock_passes - passes
            before, passes = now, pane.clock_passes
        assert 0 < looked < 150 // 3  # not once a second


async def test_history_waits_for_the_first_prices_on_screen() -> None:
    """Sparkline history is big (an exchange in this process computes it on the app's loop):
    it is asked for only once the first prices are drawn."""
    rest = fx.FakeRest()
    store = Store()
    app = fx.make_app(store, rest=rest)
    app.history_waits = 60.0
    async with app.run_test(size=(100, 30)) as pilot:
        await fx.ticks(app, pilot, 3)
        assert rest.candles_asked == []
        book = {"market_id": "x", "yes_dollars_fp": [["0.4100", "10.00"]], "no_dollars_fp": []}
        store.apply(fx.frame("orderbook_snapshot", seq=1, market_ticker=fx.MARKETS[0][0], **book))
        await until(lambda: rest.candles_asked, "the history asked for", pilot=pilot)
