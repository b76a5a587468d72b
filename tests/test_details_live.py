"""Details through the one REST budget against the simulator over real sockets: the client
reads what the exchange serves, caches the event's parts, and the app shows them on ``i``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bench.waiting import GUARD, until
from kalshi_tui.details import iso_ts
from kalshi_tui.rest import RestClient
from kalshi_tui.sim import Simulator
from kalshi_tui.sim.universe import SERIES
from kalshi_tui.ui.details import DetailsPane, DetailsScreen
from tests.test_ui_live import live


async def test_details_match_the_exchange_and_the_events_parts_are_cached(sim: Simulator) -> None:
    ticker = sim.tickers[0]
    market = sim.market(ticker)
    series = sim.engine.state(ticker).market.series_ticker
    client = RestClient(sim.rest_url, sim.signer)
    try:
        d = await asyncio.wait_for(client.market_details(ticker), GUARD)  # hang guard only
        assert client.health.requests == 3 and client.health.cache_misses == 2
        again = await asyncio.wait_for(client.market_details(ticker), GUARD)
    finally:
        await client.aclose()
    assert d.series_ticker == series and "series_ticker" not in market  # from the event
    assert (d.title, d.rules_primary, d.rules_secondary) == (
        market["title"],
        market["rules_primary"],
        market["rules_secondary"],
    )
    assert d.settlement_sources == (SERIES[series].source,)
    assert d.close_ts == iso_ts(market["close_time"])
    assert d.latest_expiration_ts == d.close_ts + 7 * 86_400  # type: ignore[operator]
    assert d.previous_price is not None and d.volume_24h is not None and d.price_ranges
    # The second time only the market (its numbers move) goes over the wire.
    assert again.rules_primary == d.rules_primary
    h = client.health
    assert (h.requests, h.cache_hits, h.cache_misses, h.rate_limited, h.errors) == (4, 2, 2, 0, 0)
    assert h.by_path == {"/markets": 2, "/events": 2}


async def test_the_app_shows_a_live_markets_details_on_i(make_sim: Callable[..., Simulator]) -> None:
    async with live(make_sim) as env:
        app = env.app
        ticker = app.selected
        assert ticker is not None
        rules = str(env.sim.market(ticker)["rules_primary"])
        await env.pilot.press("i")
        assert isinstance(app.screen, DetailsScreen)
        pane = app.screen.query_one(DetailsPane)
        await until(lambda: rules[:40] in pane.shown("details-rules"), "the market's rules", pilot=env.pilot)
        assert "Settlement sources" in pane.shown("details-rules")
        assert "Closes" in pane.shown("details-times") and "Latest exp." in pane.shown("details-times")
        # The REST budget's health is the store's: the Connection tab shows these numbers.
        rest = app.store.metrics.rest
        assert rest.by_path["/events"] >= 2 and rest.errors == 0
        # The series came from the event, into the market's metadata too.
        meta = app.store.markets[ticker].meta
        assert meta is not None and meta.series_ticker == env.sim.engine.state(ticker).market.series_ticker
