"""The real app against the real simulator over a real socket: nothing in the stream is faked."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from textual.command import CommandPalette
from textual.pilot import Pilot

from bench.waiting import until
from kalshi_tui.book import NO, YES
from kalshi_tui.config import Profile, StreamSettings
from kalshi_tui.numbers import ONE_DOLLAR, format_cents, format_contracts
from kalshi_tui.rest import RestClient
from kalshi_tui.run import rest_client
from kalshi_tui.sim import Simulator
from kalshi_tui.sparks import BLOCKS, hour_end
from kalshi_tui.store import Store
from kalshi_tui.stream import Pool
from kalshi_tui.ui.app import KalshiApp
from kalshi_tui.ui.depth import DepthLadder
from kalshi_tui.ui.header import StatusHeader
from tests.ui_fixtures import REPO_THEMES

SIZE = (100, 30)
FAST = StreamSettings(backoff_base=0.1, backoff_cap=0.3, stable_after=0.0)


class Live:
    def __init__(self, sim: Simulator, app: KalshiApp, pilot: Pilot[Any], pool: Pool) -> None:
        self.sim, self.app, self.pilot, self.pool = sim, app, pilot, pool

    def ladder(self) -> list[str]:
        ladder = self.app.query_one(DepthLadder)
        return [ladder.render_line(y).text for y in range(1, ladder.size.height)]

    def toasts(self) -> list[str]:
        return [str(n.message) for n in self.app._notifications]


@asynccontextmanager
async def live(
    make_sim: Callable[..., Simulator],
    watch: slice = slice(0, 6),
    stream: StreamSettings = FAST,
    size: tuple[int, int] = SIZE,
    account: bool = False,
    **sim_kwargs: Any,
) -> AsyncIterator[Live]:
    """The app as ``kalshi-tui`` wires it, on a simulator over real sockets (with ``account``:
    the Portfolio fed by REST too), once its first connection is live."""
    sim_kwargs = {"seed": 7, "rate": 200, "markets": 12, **sim_kwargs}
    async with make_sim(**sim_kwargs) as sim:
        assert sim.signer is not None
        profile = Profile.create(
            "live",
            "custom",
            ws_url=sim.ws_url,
            rest_url=sim.rest_url,
            key_id=sim.key_id,
            watchlists={"live": sim.tickers[watch]},
            stream=stream,
        )
        store = Store()
        rest = rest_client(profile, sim.signer, store)
        pool = Pool(sim.ws_url, sim.signer, store, profile.stream, markets=profile.tickers, rest=rest)
        app = KalshiApp(
            store,
            feed=pool,
            rest=rest,
            account=rest if account else None,
            profile=profile,
            theme_folders=[REPO_THEMES],
            watch_terminal=False,
        )
        try:
            async with app.run_test(size=size) as pilot:
                env = Live(sim, app, pilot, pool)
                await until(lambda: store.metrics.state == "live", "the first connection", pilot=env.pilot)
                yield env
        finally:
            await pool.close()
            await rest.aclose()


def quoted(app: KalshiApp, ticker: str) -> bool:
    cells = app.watchlist.grid.cells(ticker)
    return cells is not None and cells[4][0] != "—"


async def test_live_data_reaches_every_tab(make_sim: Callable[..., Simulator]) -> None:
    async with live(make_sim) as env:
        app = env.app
        watched = env.sim.tickers[:6]
        await until(lambda: all(quoted(app, t) for t in watched), "quotes in every row", pilot=env.pilot)
        # Names come over REST into the title column.
        await until(
            lambda: app.watchlist.grid.cells(watched[0])[1][0] != "",  # type: ignore[index]
            "market titles",
            pilot=env.pilot,
        )
        await env.pilot.press("2")
        await until(lambda: any(line.strip() for line in env.ladder()), "a depth ladder", pilot=env.pilot)
        await env.pilot.press("right_square_bracket")
        assert app.selected == watched[1]
        await until(
            lambda: watched[1] in str(app.query_one("#depth-title").render()),
            "the next market's depth",
            pilot=env.pilot,
        )
        await env.pilot.press("3", "m")
        await until(lambda: app.query_one("#trades-grid").row_count > 0, "live trades", pilot=env.pilot)
        await env.pilot.press("5")
        await until(
            lambda: any(
                s.channel == "orderbook_delta" and s.sid is not None for s in app.store.metrics.subscriptions
            ),
            "subscriptions",
            pilot=env.pilot,
        )
        await env.pilot.pause(0.2)
        subs = app.query_one("#conn-subs")
        text = "\n".join(strip.text for strip in subs.render_lines(subs.region.reset_offset))
        assert "orderbook_delta" in text
        assert app.query_one(StatusHeader).badge_text.startswith("● LIVE")


async def test_depth_follows_deltas_and_matches_the_exchange(make_sim: Callable[..., Simulator]) -> None:
    async with live(make_sim) as env:
        app = env.app
        ticker = env.sim.tickers[0]
        await env.pilot.press("2")
        await until(lambda: any(line.strip() for line in env.ladder()), "a depth ladder", pilot=env.pilot)
        first = env.ladder()
        await until(lambda: env.ladder() != first, "the ladder to change with deltas", pilot=env.pilot)
        # Stop the exchange; once the stream has drained, the screen shows its true book.
        env.sim.pause()
        book = app.store.markets[ticker].book
        truth = env.sim.book(ticker)
        await until(lambda: book.levels(YES) == truth.levels(YES), "the stream to drain", pilot=env.pilot)
        await env.pilot.pause(0.3)
        # The YES ladder: the exchange's NO bids as asks above the spread, its YES bids below.
        lines = env.ladder()
        spread = next(i for i, line in enumerate(lines) if "spread" in line)
        asks = [line.split()[:3] for line in lines[:spread] if line.split()[:1]][::-1]
        expected = truth.depth(NO, len(asks))
        assert [s[0] for s in asks] == [format_cents(ONE_DOLLAR - lv.price) for lv in expected]
        assert [s[1:] for s in asks] == [
            [format_contracts(lv.size), format_contracts(lv.cumulative)] for lv in expected
        ]
        await env.pilot.press("v")  # the raw book: YES bids | NO bids, best first
        shown = [line.split()[:3] for line in env.ladder() if line.split()[:1]]
        expected = truth.depth(YES, len(shown))
        assert [s[0] for s in shown] == [format_cents(lv.price) for lv in expected]
        assert [s[1] for s in shown] == [format_contracts(lv.size) for lv in expected]
        assert [s[2] for s in shown] == [format_contracts(lv.cumulative) for lv in expected]


async def test_add_and_remove_a_market_live(make_sim: Callable[..., Simulator]) -> None:
    async with live(make_sim, watch=slice(0, 3)) as env:
        app = env.app
        new = env.sim.tickers[7]
        assert new not in env.pool.markets
        await env.pilot.press("a")
        await until(lambda: isinstance(app.screen, CommandPalette), "the add palette", pilot=env.pilot)
        await env.pilot.press(*new)
        await env.pilot.pause(0.4)
        await env.pilot.press("enter")
        await until(lambda: new in env.pool.markets, "a live subscription to the new market", pilot=env.pilot)
        await until(lambda: quoted(app, new), "a quote for the new market", pilot=env.pilot)
        assert app.watchlist.grid.cursor_key == new
        await env.pilot.press("d")
        await until(lambda: new not in env.pool.markets, "the market to be unsubscribed", pilot=env.pilot)
        assert new not in app.watchlist.grid.row_keys
        assert app.profile.watchlists["live"] == tuple(env.sim.tickers[:3])


async def test_a_gap_shows_the_stale_banner_until_the_resync(make_sim: Callable[..., Simulator]) -> None:
    async with live(make_sim) as env:
        app = env.app
        await until(lambda: all(quoted(app, t) for t in env.sim.tickers[:6]), "quotes", pilot=env.pilot)
        await env.pilot.press("2")
        banner = app.query_one("#depth-banner")
        assert not banner.display
        env.sim.faults.slow_commands(1.0)  # the get_snapshot answer comes a second late
        env.sim.faults.drop_frame()
        await until(lambda: banner.display, "the stale banner", pilot=env.pilot)
        assert "sequence gap" in str(banner.render())
        assert "resyncing" in app.query_one(StatusHeader).badge_text
        await until(lambda: not banner.display, "the resync", pilot=env.pilot)
        assert app.store.metrics.gaps >= 1


async def test_a_dropped_exchange_shows_reconnecting_then_live(make_sim: Callable[..., Simulator]) -> None:
    # Waits of up to 3 s between attempts keep the badge on RECONNECTING (not yet DOWN, which
    # comes after 3 failed connects) long enough for a tick to draw it on a loaded machine.
    patient = StreamSettings(backoff_base=3.0, backoff_cap=3.0, stable_after=0.0)
    async with live(make_sim, stream=patient) as env:
        app = env.app
        header = app.query_one(StatusHeader)
        await env.sim.stop()  # the exchange goes away: sockets close, the port refuses
        await until(lambda: header.badge_text == "↻ RECONNECTING", "the reconnecting badge", pilot=env.pilot)
        await until(lambda: any("reconnecting" in t for t in env.toasts()), "a toast", pilot=env.pilot)
        await env.sim.start()
        await until(lambda: header.badge_text.startswith("● LIVE"), "live again", pilot=env.pilot)
        assert app.store.metrics.reconnects >= 1
        await until(lambda: any("Reconnected" in t for t in env.toasts()), "a toast", pilot=env.pilot)


async def test_sparklines_load_from_the_batch_candle_endpoint(make_sim: Callable[..., Simulator]) -> None:
    async with live(make_sim) as env:
        app, sim = env.app, env.sim
        watched = set(sim.tickers[0:6])
        await until(lambda: watched <= app.view.sparks.loaded, "sparklines loaded", pilot=env.pilot)
        rest = app.rest
        assert isinstance(rest, RestClient)
        now = int(time.time())
        direct = await rest.candle_closes(sorted(watched), now - 24 * 3600, now)
        ticker = sim.tickers[0]
        # The simulator's past hours are settled: what the app holds is what the endpoint says.
        past = [(e, c) for e, c in direct[ticker] if c is not None and e < hour_end(now) - 3600]
        assert past, "the simulator served no hourly closes"
        held = app.view.sparks.markets[ticker].closes
        assert all(held.get(e) == c for e, c in past[-20:])
        # Loaded is not yet drawn: the grid takes it on a later tick.
        await until(
            lambda: app.watchlist.grid.cells(ticker)[12][0].strip(), "sparkline drawn", pilot=env.pilot
        )  # type: ignore[index]
        spark = app.watchlist.grid.cells(ticker)[12][0]  # type: ignore[index]
        assert len(spark) == 24 and set(spark.strip()) <= set(BLOCKS)
