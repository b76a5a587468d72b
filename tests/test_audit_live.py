"""The feed audit and the exchange poller against the simulator, over real loopback sockets
and real keys: the stream Pool, the REST client and its budget, nothing mocked."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from bench.truth import diverged
from bench.waiting import until
from kalshi_tui.audit import Auditor
from kalshi_tui.config import StreamSettings
from kalshi_tui.exchange import notice
from kalshi_tui.pollers import audit_feed, watch_exchange
from kalshi_tui.rest import RestClient
from kalshi_tui.sim import Simulator
from kalshi_tui.store import LIVE, Store
from kalshi_tui.stream import Pool

FAST = StreamSettings(backoff_base=0.05, backoff_cap=0.3, commands_per_second=50.0)


@contextlib.asynccontextmanager
async def background(coro: object) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_audit_counts_matches_then_resyncs_a_corrupted_book() -> None:
    async with Simulator(seed=21, rate=200, markets=6) as sim:
        assert sim.signer is not None
        store = Store()
        rest = RestClient(sim.rest_url, sim.signer, health=store.metrics.rest, reads_per_second=100)
        pool = Pool(sim.ws_url, sim.signer, store, FAST, markets=sim.tickers)
        auditor = Auditor(store.metrics.audit, interval=0.02, second_look=0.02)
        audit = audit_feed(
            store, rest, pool, lambda: sim.tickers, lambda: sim.tickers[:2], auditor, settle=0.02
        )
        health = store.metrics.audit
        try:
            async with pool.running(), background(audit):
                await until(lambda: store.metrics.state == LIVE, "connected")
                await until(lambda: health.looks >= 6, "six looks while the market moves")
                # A still exchange: every book is exact, so every look that counts matches.
                sim.pause()
                await until(lambda: not diverged(sim, store, sim.tickers), "books exact")
                before = health.matches
                await until(lambda: health.matches >= before + 12, "two rounds of matches")
                assert health.mismatches == 0 and health.resyncs == 0 and health.failed == 0
                assert store.metrics.rest.by_path["/markets"] >= 12  # through the one REST budget

                # One made-up level on the stream: the REST book disagrees twice, the audit
                # asks the Pool for the book again, and the rebuilt book matches.
                target = sim.tickers[3]
                resyncs = store.metrics.resyncs
                assert sim.faults.corrupt_level(target) == 1
                await until(lambda: health.resyncs == 1, "a resync after a repeated mismatch")
                assert health.mismatches == 2 and target in health.last
                await until(lambda: store.metrics.resyncs > resyncs, "the stream's get_snapshot")
                await until(lambda: not diverged(sim, store, sim.tickers), "books exact again")
                matched = health.matches
                await until(lambda: health.matches >= matched + 6, "a round of matches after the resync")
                assert health.resyncs == 1 and health.mismatches == 2
                assert any("differed from the exchange" in ev.sentence for ev in store.metrics.last_errors)
        finally:
            await rest.aclose()


async def test_exchange_poller_sees_paused_trading_and_upcoming_maintenance() -> None:
    async with Simulator(seed=22, rate=20, markets=3) as sim:
        store = Store()
        rest = RestClient(sim.rest_url, None, health=store.metrics.rest)
        state = store.metrics.exchange
        try:
            async with background(watch_exchange(store, rest, every=0.05)):
                await until(lambda: state.trading_active is True, "exchange open")
                assert notice(state, time.time()) == ("", "")
                sim.pause_trading()
                await until(lambda: state.trading_active is False, "trading paused")
                assert notice(state, time.time())[0] == "TRADING PAUSED"
                sim.resume_trading()
                start = time.time() + 20 * 60
                sim.schedule_maintenance(start, start + 3600)
                await until(lambda: state.maintenance and state.trading_active, "a window on the schedule")
                text, css = notice(state, time.time())
                assert text.startswith("maintenance in ") and css == "-warn"
        finally:
            await rest.aclose()
