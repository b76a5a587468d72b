"""The price chart screen (c) driven by keys: candles asked of the app and drawn, timeframes
switched with t, trades extending the newest candle with few lines repainted, failures said."""

from __future__ import annotations

import pytest

from bench.waiting import until
from kalshi_tui.ui.chart import ChartScreen, PriceChart
from kalshi_tui.ui.help import KeysScreen
from kalshi_tui.ui.keys import binding_ids
from tests import ui_fixtures as fx
from tests.ui_fixtures import utc  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("utc")
H0 = "KXFEDDECISION-26DEC-H0"


async def test_c_opens_the_chart_and_t_switches_timeframes() -> None:
    rest = fx.FakeRest()
    app = fx.make_app(rest=rest)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.selected == H0
        await pilot.press("c")
        assert isinstance(app.screen, ChartScreen)
        chart = app.screen.query_one(PriceChart)
        await until(lambda: chart.text()[0].startswith(" 1h: 91 candles"), "1h candles drawn", pilot=pilot)
        assert rest.asked == [f"event {H0.rsplit('-', 1)[0]}", f"candles {H0} 60"]
        series = app.view.charts.get(H0, 60)
        assert series is not None and len(series.candles) == 168  # loaded; the newest 91 fit
        assert f"last {series.candles[-1].close // 100}¢" in chart.text()[0]
        assert any("█" in line for line in chart.text()[1:])
        await pilot.press("t")
        await until(lambda: chart.text()[0].startswith(" 1d: "), "1d candles drawn", pilot=pilot)
        await pilot.press("t")
        await until(lambda: chart.text()[0].startswith(" 1m: "), "1m candles drawn", pilot=pilot)
        await pilot.press("t")  # back to 1h: already loaded, not asked again
        assert chart.text()[0].startswith(" 1h: ")
        assert rest.asked.count(f"candles {H0} 60") == 1
        await pilot.press("escape")
        assert not isinstance(app.screen, ChartScreen)


async def test_a_trade_extends_the_newest_candle_and_repaints_few_lines() -> None:
    store = fx.build_store()
    # Ten minutes into an hour: the newest 1h candle is the one in progress.
    app = fx.make_app(store, rest=fx.FakeRest(), wall_clock=lambda: fx.WALL + 600)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        chart = app.screen.query_one(PriceChart)
        await until(lambda: chart.text()[0].startswith(" 1h: 91 candles"), "candles drawn", pilot=pilot)
        await pilot.pause()
        series = app.view.charts.get(H0, 60)
        assert series is not None
        last = series.candles[-1]
        drawn = chart.lines_rendered
        # A trade after the fetch, inside the chart's range: the newest candle grows.
        store.apply(
            fx.frame(
                "trade",
                3,
                500,
                trade_id="live-1",
                market_ticker=H0,
                yes_price_dollars=fx.dollars(last.close),
                no_price_dollars=fx.dollars(10_000 - last.close),
                count_fp="1.00",
                taker_outcome_side="yes",
                ts_ms=int(fx.WALL * 1000) + 601_000,
            )
        )
        app._tick()
        await pilot.pause()
        assert series.candles[-1] == last._replace(volume=last.volume + 100)
        total = sum(k.volume for k in list(series.candles)[-91:])  # the candles that fit
        assert f"volume {total // 100:,}" in chart.text()[0]
        # At most the newest candle's volume cell moved: no price line is drawn again.
        assert chart.lines_rendered - drawn <= 1


async def test_a_failed_load_is_said_and_the_keys_screen_lists_the_chart() -> None:
    rest = fx.FakeRest()
    rest.fail.add(H0)
    app = fx.make_app(rest=rest)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        chart = app.screen.query_one(PriceChart)
        await until(lambda: "Couldn't load the candles" in chart.text()[0], "the failure said", pilot=pilot)
        assert "HTTP 503" in app.view.charts.errors[(H0, 60)]
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, KeysScreen)
    ids = binding_ids()
    assert ids["chart"] == "Price chart" and ids["chart-timeframe"] == "Timeframe 1m/1h/1d"


async def test_candles_on_screen_are_fetched_again_every_five_minutes() -> None:
    from kalshi_tui.ui.chart import REFETCH

    rest = fx.FakeRest()
    t = [fx.NOW]
    app = fx.make_app(rest=rest, clock=lambda: t[0])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        chart = app.screen.query_one(PriceChart)
        await until(lambda: chart.text()[0].startswith(" 1h: "), "candles drawn", pilot=pilot)
        t[0] += REFETCH - 1
        app._tick()
        await pilot.pause()
        assert rest.asked.count(f"candles {H0} 60") == 1
        t[0] += 2
        app._tick()
        await until(lambda: rest.asked.count(f"candles {H0} 60") == 2, "asked again", pilot=pilot)
        series = app.view.charts.get(H0, 60)
        assert series is not None and series.fetched_at == t[0]


async def test_a_market_without_names_yet_finds_its_series_through_its_details() -> None:
    store = fx.build_store()
    store.markets[H0].meta = None  # REST has not named it yet
    rest = fx.FakeRest()
    app = fx.make_app(store, rest=rest)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        chart = app.screen.query_one(PriceChart)
        await until(lambda: chart.text()[0].startswith(" 1h: "), "candles drawn", pilot=pilot)
        assert rest.asked == [H0, f"candles {H0} 60"]  # the details (market, event), then candles
