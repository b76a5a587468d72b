"""Watchlist churn over a pool of five connections, one killed again and again (short mode
of the load part of ``python -m bench.reliability --full``, which churns for a minute)."""

from __future__ import annotations

from bench.soak import LoadPlan, run_load


async def test_watchlist_churn_over_five_connections_one_killed_repeatedly_loses_nothing() -> None:
    report = await run_load(LoadPlan())
    text = "\n".join(report.lines())
    print(text)
    assert report.connections == 5, text
    # The pace (200/s asked for) is the benchmark's to report; here: edits made across kills.
    assert report.changes > 0 and report.kills >= 1 and report.reconnects >= report.kills, text
    assert report.exact_after is not None, text  # every watched book equals the truth
    assert not report.registry_problems, text  # and the exchange holds exactly the watchlist
    assert report.correct, text


async def test_edits_the_exchange_refuses_with_27_are_not_lost() -> None:
    # The exchange's per-subscription command limit is unpublished: when the client's own
    # pace is above it, refused update_subscription commands (error 27, which names only the
    # sid) must not leave the exchange with a different watchlist than the client's.
    report = await run_load(LoadPlan(seconds=3.0, exchange_command_rate=15.0, kill_every=1e9))
    text = "\n".join(report.lines())
    print(text)
    assert report.errors_by_code.get(27, 0) > 0, text  # the limit was hit
    assert report.kills == 0 and report.reconnects == 0, text
    assert not report.registry_problems, text
    assert report.exact_after is not None, text
