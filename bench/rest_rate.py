"""REST calls per minute of the app on the demo: ``python -m bench.rest_rate [--seconds 180]
[--browse 20]``.

The demo as ``kalshi-tui demo`` builds it (the simulator in-process, seed 7, 40 markets, the
same REST client, stream and app), headless at 120x36. The first 10 s are start-up (names of
the watched markets, the catalogue for search, the fills backfill); then the details screen
opens and, every ``--browse`` seconds, the user steps to the next market (0: stays on one).
The counts are the REST client's own (its health record, as the Connection tab shows it).
The background loops start as in the demo: the feed audit's share is its looks (one order
book each) and the exchange poller's is its ``/exchange`` requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

STARTUP = 10.0  # s counted as start-up


async def measure(seconds: float, browse: float, markets: int = 40) -> dict[str, object]:
    from kalshi_tui.config import Profile
    from kalshi_tui.run import demo_watchlists, rest_client, start_pollers
    from kalshi_tui.sim import Simulator
    from kalshi_tui.store import Store
    from kalshi_tui.stream import Pool
    from kalshi_tui.ui.app import KalshiApp

    async with Simulator(seed=7, rate=50.0, markets=markets) as sim:
        assert sim.signer is not None
        profile = Profile.create(
            "demo",
            "custom",
            ws_url=sim.ws_url,
            rest_url=sim.rest_url,
            key_id=sim.key_id,
            watchlists=demo_watchlists(sim.tickers),
        )
        store = Store()
        rest = rest_client(profile, sim.signer, store)
        pool = Pool(sim.ws_url, sim.signer, store, profile.stream, markets=profile.tickers, rest=rest)
        app = KalshiApp(store, feed=pool, rest=rest, profile=profile, watch_terminal=False)
        health = store.metrics.rest
        audit = store.metrics.audit
        background = start_pollers(store, rest, pool, app)
        try:
            async with app.run_test(size=(120, 36)) as pilot:
                t0 = time.monotonic()
                await pilot.pause(STARTUP)
                at_startup = health.requests
                looks_at_startup = audit.looks
                exchange_at_startup = health.by_path["/exchange"]
                await pilot.press("i")
                steps = 0
                next_step = time.monotonic() + browse if browse else float("inf")
                while time.monotonic() - t0 < STARTUP + seconds:
                    await pilot.pause(0.5)
                    if time.monotonic() >= next_step:
                        await pilot.press("right_square_bracket")
                        steps += 1
                        next_step += browse
                elapsed = time.monotonic() - t0 - STARTUP
                looks = audit.looks - looks_at_startup
                exchange = health.by_path["/exchange"] - exchange_at_startup
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await pool.close()
            await rest.aclose()
    after = health.requests - at_startup
    return {
        "audit_requests_per_minute": round(looks * 60 / elapsed, 2),
        "exchange_requests_per_minute": round(exchange * 60 / elapsed, 2),
        "audit": {
            "matches": audit.matches,
            "mismatches": audit.mismatches,
            "skipped_moving": audit.moving,
            "skipped_unsynced": audit.unsynced,
            "failed": audit.failed,
            "resyncs": audit.resyncs,
        },
        "startup_requests": at_startup,
        "seconds": round(elapsed, 1),
        "markets_browsed": steps + 1,
        "requests_after_startup": after,
        "requests_per_minute": round(after * 60 / elapsed, 2),
        "by_path": dict(health.by_path),
        "cache_hits": health.cache_hits,
        "cache_misses": health.cache_misses,
        "rate_limited": health.rate_limited,
        "errors": health.errors,
        "limit_per_second": health.limit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="measured after start-up")
    parser.add_argument("--browse", type=float, default=20.0, help="s between markets (0: stay)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.seconds, args.browse)), indent=2))


if __name__ == "__main__":
    main()
