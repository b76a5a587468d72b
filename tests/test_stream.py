"""The stream client against the simulator over real loopback sockets, real RSA keys.

Nothing is mocked: faults are injected on the exchange side and the client has to notice
and recover on its own. "Exact" means every book equals the simulator's truth, level for
level, once the simulator is paused and the wire has drained.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from bench.truth import diverged
from bench.waiting import GUARD, until
from kalshi_tui.auth import Signer, generate_key
from kalshi_tui.config import StreamSettings
from kalshi_tui.errors import AuthRejected
from kalshi_tui.sim import Simulator
from kalshi_tui.store import DOWN, LIVE, RECONNECTING, Store
from kalshi_tui.stream import Pool

FAST = StreamSettings(
    backoff_base=0.05, backoff_cap=0.3, stable_after=5.0, dead_link_timeout=2.0, commands_per_second=50.0
)


async def wait_exact(sim: Simulator, store: Store, tickers: list[str]) -> None:
    """Pause the exchange and wait until every book matches it."""
    sim.pause()
    await until(lambda: not diverged(sim, store, tickers), "every book exact")


@contextlib.asynccontextmanager
async def running(
    sim: Simulator, markets: list[str], settings: StreamSettings = FAST, **kw: object
) -> AsyncIterator[tuple[Store, Pool]]:
    store = Store()
    assert sim.signer is not None
    pool = Pool(sim.ws_url, sim.signer, store, settings, markets=markets, **kw)  # type: ignore[arg-type]
    async with pool.running() as task:
        await until(lambda: store.metrics.state == LIVE or task.done(), what="connection")
        if task.done():
            task.result()
        yield store, pool


async def test_books_are_exact_against_the_exchange() -> None:
    async with Simulator(seed=11, rate=1500, markets=30) as sim, running(sim, sim.tickers[:20]) as (store, _):
        await until(lambda: store.metrics.messages > 500, "500 messages")
        sim.pause()
        await wait_exact(sim, store, sim.tickers[:20])
        assert store.metrics.gaps == 0 and store.metrics.messages > 500
        # Bytes are counted as read off the socket: at least each frame's JSON (over 60 bytes).
        await until(lambda: store.metrics.bytes > 60 * store.metrics.messages > 0, "the traffic reported")
        for ticker in sim.tickers[:20]:
            truth = sim.book(ticker)
            book = store.markets[ticker].book
            assert book.yes_bid == truth.yes_bid and book.yes_ask == truth.yes_ask


async def test_reconnect_after_kill_rebuilds_exact_books() -> None:
    async with Simulator(seed=12, rate=1500, markets=20) as sim, running(sim, sim.tickers) as (store, _):
        await asyncio.sleep(0.5)
        assert sim.faults.kill_connections() == 1
        await until(lambda: store.metrics.reconnects >= 1, what="reconnect")
        await until(lambda: store.metrics.state == LIVE, what="live again")
        await wait_exact(sim, store, sim.tickers)


async def test_wrong_key_is_a_clear_auth_failure() -> None:
    async with Simulator(seed=15, rate=10, markets=5) as sim:
        stranger = Signer(sim.key_id, generate_key())
        store = Store()
        pool = Pool(sim.ws_url, stranger, store, FAST, markets=sim.tickers)
        with pytest.raises(AuthRejected) as info:
            await asyncio.wait_for(pool.run(), GUARD)
        text = str(info.value)
        assert "401" in text and "key" in text
        assert "clock" in text  # the Date header gives the offset
        assert store.metrics.state == "auth failed"
        assert abs(store.metrics.clock_offset or 0) < 5


async def test_dead_link_is_detected_and_reconnected() -> None:
    async with Simulator(seed=16, rate=200, markets=5) as sim, running(sim, sim.tickers) as (store, _):
        await asyncio.sleep(0.3)
        sim.faults.stall(4.0)
        await until(lambda: store.metrics.reconnects >= 1, what="dead link")
        await until(lambda: store.metrics.state == LIVE, what="live again")
        await wait_exact(sim, store, sim.tickers)


async def test_watchlist_changes_are_live_without_reconnect() -> None:
    async with (
        Simulator(seed=17, rate=600, markets=12) as sim,
        running(sim, sim.tickers[:4]) as (store, pool),
    ):
        await asyncio.sleep(0.3)
        await pool.add_markets(sim.tickers[4:8])
        await asyncio.sleep(0.5)
        await wait_exact(sim, store, sim.tickers[:8])
        sim.resume()
        await pool.remove_markets(sim.tickers[:2])
        await asyncio.sleep(0.5)
        assert store.metrics.reconnects == 0
        assert set(pool.markets) == set(sim.tickers[2:8])
        for sub in store.metrics.subscriptions:
            if sub.channel == "orderbook_delta":
                assert sub.markets == 6
        assert not store.markets[sim.tickers[0]].book.synced  # no longer kept current
        await wait_exact(sim, store, sim.tickers[2:8])


async def test_big_watchlist_is_pooled_over_connections() -> None:
    settings = StreamSettings(
        backoff_base=0.05,
        backoff_cap=0.3,
        markets_per_subscription=250,
        subscriptions_per_connection=2,
        commands_per_second=50.0,
    )
    async with (
        Simulator(seed=18, rate=3000, markets=2000) as sim,
        running(sim, sim.tickers, settings) as (store, pool),
    ):
        assert len(sim.tickers) == 2000
        await pool.wait_connected()
        assert len(pool.sessions) == 4
        await until(lambda: sim.connections == 4, what="4 connections")
        await asyncio.sleep(1.0)
        await wait_exact(sim, store, sim.tickers)
        books = [s for s in store.metrics.subscriptions if s.channel == "orderbook_delta"]
        assert len(books) == 8 and all(s.markets == 250 for s in books)


async def test_fills_missed_while_down_are_backfilled_once() -> None:
    from kalshi_tui.rest import RestClient

    async with Simulator(seed=19, rate=400, markets=5, user_share=0.6) as sim:
        assert sim.signer is not None
        rest = RestClient(sim.rest_url, sim.signer)
        async with running(sim, sim.tickers, rest=rest) as (store, _):
            await until(lambda: len(store.fills) >= 3, what="live fills")
            for _ in range(2):
                sim.faults.refuse_handshakes(0.6)  # trading goes on while we can't get in
                sim.faults.kill_connections()
                await asyncio.sleep(0.8)
                await until(lambda: store.metrics.state == LIVE, what="back live")
            sim.pause()
            want = {f.trade_id for f in sim.fills}
            await until(lambda: set(store.fills) == want, what="every fill exactly once")
            assert len(store.fills) == len(want)
            assert any(f.backfilled for f in store.fills.values())
        await rest.aclose()


async def test_badge_says_reconnecting_at_once_and_down_when_unreachable() -> None:
    slow = StreamSettings(backoff_base=0.2, backoff_cap=0.2, stable_after=60.0)
    sim = Simulator(seed=20, rate=50, markets=3)
    await sim.start()
    try:
        async with running(sim, sim.tickers, slow) as (store, _):
            # The badge state at the moment the drop is counted: sampling it later could land
            # after the backoff sleep, when the next (refused) attempt has changed it.
            at_drop: list[str] = []
            count_reconnect = store.count_reconnect

            def counting() -> None:
                at_drop.append(store.metrics.state)
                count_reconnect()

            store.count_reconnect = counting  # type: ignore[method-assign]
            sim.faults.refuse_handshakes(30)
            sim.faults.kill_connections()
            await until(lambda: store.metrics.reconnects >= 1, what="drop noticed")
            assert at_drop[0] == RECONNECTING  # at once, not after the backoff sleep
            await sim.stop()  # the exchange is gone: refused connections from now on
            await until(lambda: store.metrics.state == DOWN, what="down")
    finally:
        await sim.stop()


async def test_traffic_is_reported_as_frames_flow_and_the_first_after_a_lull_wakes_the_timer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With nothing due the session's timer sleeps (here: an hour) until bytes arrive, so
    frames are reported while they flow, and the first ones after a lull end the sleep."""
    from kalshi_tui.stream import session as session_module

    monkeypatch.setattr(session_module, "QUIET_TICK", 3600.0)
    async with Simulator(seed=3, rate=500, markets=10) as sim, running(sim, sim.tickers[:5]) as (store, pool):
        await until(lambda: store.metrics.messages > 200, "frames reported while they flow")
        sim.pause()
        ws = pool.sessions[0].ws
        await until(lambda: ws is not None and getattr(ws, "wake", None) is not None, "the timer asleep")
        seen = store.metrics.messages
        sim.resume()
        await until(lambda: store.metrics.messages > seen, "frames after the lull reported")
