"""Smoke tests of the recovery rules against the simulator over a real loopback socket.

The rules themselves are tested exactly, with a fake clock, in ``test_machine.py``; these
check that the session wires them to a real exchange connection (the simulator's faults
play the hostile exchange).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bench.truth import diverged
from bench.waiting import until
from kalshi_tui.config import StreamSettings
from kalshi_tui.sim import Simulator
from kalshi_tui.store import LIVE, Store
from kalshi_tui.stream import Pool

FAST = StreamSettings(
    backoff_base=0.1,
    backoff_cap=1.0,
    stable_after=5.0,
    dead_link_timeout=5.0,
    commands_per_second=50.0,
    subscribe_timeout=0.5,
)
SUBSCRIPTIONS = 6  # book, ticker, trade, fill, positions, lifecycle: one connection


@contextlib.asynccontextmanager
async def pool_on(sim: Simulator, markets: list[str]) -> AsyncIterator[tuple[Store, Pool]]:
    store = Store()
    assert sim.signer is not None
    pool = Pool(sim.ws_url, sim.signer, store, FAST, markets=markets)
    async with pool.running():
        yield store, pool


async def exact(sim: Simulator, store: Store, tickers: list[str]) -> None:
    sim.pause()
    await until(lambda: not diverged(sim, store, tickers), "books equal to the exchange's")


async def test_an_exchange_answering_every_subscribe_with_25_is_backed_off() -> None:
    async with Simulator(seed=31, rate=300, markets=4) as sim:
        sim.faults.fail_subscribes(3.0)
        async with pool_on(sim, sim.tickers) as (store, _):
            await until(lambda: sim.faults.intercepted >= SUBSCRIPTIONS, "the first subscribes")
            await until(lambda: not sim.faults.failing_subscribes(), "the fault to end")
            # Backed off (0.1 s doubling to 1 s, full jitter): about 8 tries each in 3 s, not
            # one per round trip (thousands).
            assert sim.faults.intercepted < 40 * SUBSCRIPTIONS
            await until(lambda: store.metrics.state == LIVE, "live once the exchange recovers")
            await exact(sim, store, sim.tickers)


async def test_unanswered_subscribes_are_retried_and_the_badge_waits_for_them() -> None:
    async with Simulator(seed=32, rate=300, markets=4) as sim:
        sim.faults.mute_subscribes(30.0)
        async with pool_on(sim, sim.tickers) as (store, _):
            await until(lambda: sim.faults.intercepted >= SUBSCRIPTIONS, "the subscribes to be swallowed")
            assert store.metrics.state != LIVE  # connected, but nothing is subscribed
            sim.faults.clear()
            await until(lambda: store.metrics.state == LIVE, "live after the retries")
            assert any("did not answer a subscribe" in e.sentence for e in store.metrics.last_errors)
            await exact(sim, store, sim.tickers)


async def test_deltas_for_a_book_whose_snapshot_never_came_ask_for_it() -> None:
    async with Simulator(seed=33, rate=600, markets=3) as sim:
        sim.faults.skip_snapshots(1)
        async with pool_on(sim, sim.tickers) as (store, _):
            await until(lambda: store.metrics.state == LIVE, "live")
            await exact(sim, store, sim.tickers)
            assert store.metrics.gaps == 0 and store.metrics.resyncs >= 1
