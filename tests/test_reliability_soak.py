"""Soak with faults, short mode (``python -m bench.reliability --full`` runs ten minutes of it).

One client (``Pool`` + ``Store``) on the simulator over loopback with a real key, under a
steady market with abrupt disconnects, dropped frames, error-25 drops, stalls and a 401
window. After every recovery the exchange is paused and every book compared with the
truth; at the end the fills must be exactly the exchange's.
"""

from __future__ import annotations

from bench.soak import (
    MB,
    SOAK_SETTINGS,
    FillLedger,
    SoakPlan,
    check_fills,
    client,
    fills_settled,
    run_soak,
)
from bench.waiting import until
from kalshi_tui.protocol import commands
from kalshi_tui.sim import Simulator


async def test_soak_short_mode() -> None:
    plan = SoakPlan()
    report = await run_soak(plan)
    text = "\n".join(report.lines())
    print(text)
    assert dict(report.injected) == {
        "kill": plan.kills,
        "drop": plan.drops,
        "overflow": plan.overflows,
        "stall": plan.stalls,
        "refuse": 1,
    }, text
    assert report.frames_dropped >= plan.drops and report.subscriptions_ended > 0, text
    assert not report.unnoticed, text
    assert not report.divergences, text
    assert report.recoveries == report.faults and report.checks == report.faults + 2, text
    # A dead link is the client's to find: the stall outlasts any detection, so every one
    # was found by the client, never ended by the exchange speaking again.
    assert len(report.stall_detect) == plan.stalls and report.late_dead_links == 0, text
    assert report.auth_failed_seen and report.refused_handshakes > 0, text
    assert report.fills.ok and report.fills.made > 10 and report.fills.backfilled > 0, text
    assert report.messages > 0, text
    assert report.rss_end - report.rss_start < 60 * MB, text
    assert report.ok, text


async def test_fills_made_while_the_fill_subscription_is_remade_are_not_lost() -> None:
    # Error 25 ends the fill subscription too; the client subscribes again, but over a real
    # network that takes a round trip, and the exchange keeps trading meanwhile.
    ledger = FillLedger()
    async with (
        Simulator(seed=31, rate=600, markets=10, user_share=0.5, lifecycle_rate=0) as sim,
        client(sim, sim.tickers, SOAK_SETTINGS, listener=ledger) as (store, _),
    ):
        await until(lambda: len(store.fills) >= 3, "three fills")
        sid = next(s.sid for s in store.metrics.subscriptions if s.channel == commands.CHANNEL_FILL)
        made = len(sim.fills)
        sim.faults.slow_commands(0.5, seconds=1.0)
        assert sim.faults.overflow(sid) == 1
        await until(lambda: store.metrics.errors_by_code[25] >= 1, "error 25")
        # trading goes on while the subscription is away
        await until(lambda: len(sim.fills) > made + 3, "fills made meanwhile")
        sim.pause()
        await fills_settled(sim, store)
        check = check_fills(sim, store, ledger)
        assert check.ok, check.line() + "\n" + "\n".join(check.examples)
