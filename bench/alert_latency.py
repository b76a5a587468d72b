"""Alert latency in the dashboard: from the frame that crosses a rule's price being applied to
the store, to the alert being announced (toast, log, bell), in refresh ticks and in ms.

``python -m bench.alert_latency [--trials N] [--rates 10,30]``: the real app (headless
``run_test``) on its real refresh timer; each trial applies a crossing snapshot at a random
phase of the tick, waits for the alert, then moves the book back to re-arm the rule.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

from kalshi_tui.alerts import Rule
from kalshi_tui.config import Profile
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import LIVE, Store

TITLE = "Alert latency (frame applied -> alert announced)"


def _book(bid: int) -> m.OrderbookSnapshot:
    return m.OrderbookSnapshot(market_ticker="A", yes=[(bid, 100)], no=[(3900, 100)])


async def measure(rate: float, trials: int, seed: int = 1) -> tuple[list[int], list[float]]:
    from kalshi_tui.ui.app import KalshiApp

    rng = random.Random(seed)
    store = Store()
    store.set_state(LIVE)
    store.apply(_book(4000))
    rule = Rule("bid_above", "A", price=5000, repeat=True)
    profile = Profile.create(watchlists={"w": ["A"]}, refresh_rate=rate, alerts=(rule,))
    app = KalshiApp(store, profile=profile, watch_terminal=False)
    ticks: list[int] = []
    millis: list[float] = []
    async with app.run_test(size=(100, 30)):
        desk = app.alert_desk
        for _ in range(trials):
            await asyncio.sleep(rng.uniform(0, 1 / rate))
            seen, at_frame = len(desk.fired), app.ticks
            started = time.perf_counter()
            store.apply(_book(5500))
            while len(desk.fired) == seen:
                await asyncio.sleep(0.0005)
            millis.append((time.perf_counter() - started) * 1000)
            ticks.append(desk.fired[-1].tick - at_frame)
            store.apply(_book(4000))
            while desk.evaluator.state_of(0) != "armed":
                await asyncio.sleep(0.001)
    return ticks, millis


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--rates", default="10,30", help="refresh rates to measure, per second")
    args = parser.parse_args(argv)
    for rate in (float(r) for r in args.rates.split(",")):
        ticks, millis = asyncio.run(measure(rate, args.trials))
        q = statistics.quantiles(millis, n=100)
        print(
            f"refresh_rate {rate:g}/s: ticks after the frame: always {sorted(set(ticks))}; "
            f"ms median {statistics.median(millis):.1f}, p99 {q[98]:.1f}, max {max(millis):.1f} "
            f"(tick period {1000 / rate:.0f} ms, {len(millis)} trials)"
        )


if __name__ == "__main__":
    main()
