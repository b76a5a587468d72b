"""The price chart against the simulator over real sockets: candles through the one REST
budget, read exactly as served, drawn on ``c`` and extended by the live trades."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from bench.waiting import GUARD, until
from kalshi_tui.candles import candles_from_rest
from kalshi_tui.rest import RestClient
from kalshi_tui.sim import Simulator
from kalshi_tui.ui.chart import ChartScreen, PriceChart
from tests.test_ui_live import live


async def test_candles_are_read_as_the_exchange_serves_them(sim: Simulator) -> None:
    ticker = sim.tickers[0]
    series = sim.engine.state(ticker).market.series_ticker
    end = int(time.time())
    start = end - 6 * 3600
    client = RestClient(sim.rest_url, sim.signer)
    try:
        got = await asyncio.wait_for(client.candlesticks(series, ticker, start, end, 60), GUARD)
    finally:
        await client.aclose()
    async with httpx.AsyncClient() as http:
        raw = (
            await http.get(
                f"{sim.rest_url}/series/{series}/markets/{ticker}/candlesticks",
                params={"start_ts": start, "end_ts": end, "period_interval": 60},
            )
        ).json()["candlesticks"]
    assert len(raw) >= 6 and got == candles_from_rest(raw)
    assert all(0 < k.low <= min(k.open, k.close) <= max(k.open, k.close) <= k.high < 10_000 for k in got)
    assert client.health.by_path == {"/series": 1}


async def test_the_app_charts_a_live_market_on_c(make_sim: Callable[..., Simulator]) -> None:
    async with live(make_sim) as env:
        app = env.app
        ticker = app.selected
        assert ticker is not None

        def named() -> bool:
            state = app.store.markets.get(ticker)
            return state is not None and state.meta is not None

        await until(named, "the market's names", pilot=env.pilot)
        await env.pilot.press("c")
        assert isinstance(app.screen, ChartScreen)
        chart = app.screen.query_one(PriceChart)
        await until(lambda: chart.text()[0].startswith(" 1h: "), "1h candles drawn", pilot=env.pilot)
        series = app.view.charts.get(ticker, 60)
        assert series is not None and len(series.candles) >= 24
        assert any("█" in line or "│" in line for line in chart.text()[1:])
        assert app.store.metrics.rest.by_path["/series"] >= 1
        # Trades keep arriving: the newest candle takes them in (volume grows or a new one opens).
        before = (len(series.candles), series.candles[-1].volume, series.since_ms)
        await until(
            lambda: (len(series.candles), series.candles[-1].volume, series.since_ms) != before,
            "a live trade folded into the candles",
            pilot=env.pilot,
        )
        await env.pilot.press("t")  # 1d
        await until(lambda: chart.text()[0].startswith(" 1d: "), "1d candles drawn", pilot=env.pilot)
