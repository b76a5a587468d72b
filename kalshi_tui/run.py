"""The composition root: ``kalshi-tui`` (a profile) and ``kalshi-tui demo`` (the embedded simulator).

Heavy imports (Textual, the stream, the simulator) happen inside the functions, after the
arguments are known, so ``--help`` stays instant and ``demo`` shows data within a second.
Everything the app needs is built here and handed to ``KalshiApp``: it never reaches out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kalshi_tui.auth import Signer
    from kalshi_tui.config import Profile
    from kalshi_tui.rest import RestClient
    from kalshi_tui.store import Store
    from kalshi_tui.stream import Pool
    from kalshi_tui.stream.recorder import Recorder
    from kalshi_tui.ui.app import KalshiApp

# Demo watchlist groups, by series prefix; "all" holds every simulated market.
DEMO_GROUPS = {
    "macro": ("KXFED", "KXCPI", "KXINX", "KXGDP", "KXGOV"),
    "crypto": ("KXBTC", "KXETH", "KXSOL"),
    "weather": ("KXHIGH", "KXRAIN", "KXSNOW"),
    "sports": ("KXNBA", "KXNFL", "KXMLB", "KXNHL"),
}


# Collect the young generation every 10,000 allocations instead of 700: a firehose allocates
# and frees tens of thousands of short-lived objects a second, and collecting every 700 cost
# ~2 % of a core (and a full collection every few seconds, also while the market is quiet).
GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc() -> None:
    """Once, before the app runs: start-up garbage (imports, theme, first layout) is long-lived,
    and freezing it keeps later full collections short (fewer stutters under a firehose)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_app(args: argparse.Namespace) -> int:
    """``kalshi-tui`` / ``kalshi-tui run``: the dashboard on a profile."""
    from kalshi_tui.config import config_path, load_config, write_profile
    from kalshi_tui.endpoint import load_signer

    path = config_path(getattr(args, "config", None))
    profile = load_config(path).profile(getattr(args, "profile", None))
    key_file = profile.check_key_file()
    assert profile.key_id is not None
    signer = load_signer(profile.key_id, key_file)

    def save(changed: Profile) -> None:
        write_profile(path, changed)

    recorder = make_recorder(args, profile)
    return asyncio.run(_serve(profile, signer, getattr(args, "theme", None), save, recorder))


def run_demo(args: argparse.Namespace) -> int:
    """``kalshi-tui demo``: start the simulator in-process, connect, open the dashboard."""
    return asyncio.run(_demo(args))


def demo_watchlists(tickers: list[str]) -> dict[str, tuple[str, ...]]:
    groups = {"all": tuple(tickers)}
    for name, prefixes in DEMO_GROUPS.items():
        members = tuple(t for t in tickers if t.startswith(prefixes))
        if members:
            groups[name] = members
    return groups


async def _demo(args: argparse.Namespace) -> int:
    from kalshi_tui.config import Profile
    from kalshi_tui.sim import Simulator

    async with Simulator(
        seed=getattr(args, "seed", 7), rate=getattr(args, "rate", 50.0), markets=getattr(args, "markets", 40)
    ) as sim:
        assert sim.signer is not None
        profile = Profile.create(
            "demo",
            "custom",
            ws_url=sim.ws_url,
            rest_url=sim.rest_url,
            key_id=sim.key_id,
            watchlists=demo_watchlists(sim.tickers),
            theme=getattr(args, "theme", None) or "kalshi-dark",
        )
        # Demo watchlist edits live for the session only: there is no profile to save to.
        return await _serve(
            profile, sim.signer, getattr(args, "theme", None), None, make_recorder(args, profile)
        )


def make_recorder(args: argparse.Namespace, profile: Profile) -> Recorder | None:
    """``--record PATH`` or the profile's ``[stream] record``, checked before any work."""
    from kalshi_tui.tail import make_recorder as from_args

    return from_args(args, profile.stream)


def run_replay(args: argparse.Namespace) -> int:
    """``kalshi-tui replay PATH...``: a recording into the dashboard (``--tail``: as JSON lines)."""
    import math

    from kalshi_tui.errors import UserError

    if not (math.isfinite(args.speed) and args.speed > 0):
        raise UserError(f"--speed must be a number above 0, not {args.speed:g}")
    if args.tail:
        from kalshi_tui.tail import run_replay as tail_replay

        return tail_replay(args.paths, args.books_out, speed=args.speed)
    return asyncio.run(_replay(args))


async def _replay(args: argparse.Namespace) -> int:
    from kalshi_tui.errors import UserError
    from kalshi_tui.store import Store
    from kalshi_tui.stream.replay import RecordingClock, RecordingError, ReplayFeed, recorded_markets
    from kalshi_tui.ui.replay import ReplayApp, replay_profile

    try:
        markets = recorded_markets(args.paths)
    except RecordingError as exc:
        raise UserError(str(exc)) from None
    clock = RecordingClock()
    store = Store(clock=clock)
    feed = ReplayFeed(args.paths, store, speed=args.speed, paused=args.paused, clock=clock)
    profile = replay_profile(markets)
    app = ReplayApp(
        store, feed=feed, replay=feed, profile=profile, theme=getattr(args, "theme", None), clock=clock
    )
    try:
        await app.run_async()
    finally:
        await feed.close()
    return app.return_code or 0


def rest_client(profile: Profile, signer: Signer | None, store: Store) -> RestClient:
    """The one REST client: every caller shares its budget (the profile's ``[rest]``); its
    health goes in the store's metrics, where the Connection tab shows it."""
    from kalshi_tui.rest import RestClient

    return RestClient(
        profile.rest_url,
        signer,
        reads_per_second=profile.rest.reads_per_second,
        metadata_ttl=profile.rest.metadata_ttl,
        health=store.metrics.rest,
    )


def start_pollers(store: Store, rest: RestClient, pool: Pool, app: KalshiApp) -> list[asyncio.Task[None]]:
    """The background REST loops beside the app: the feed audit (watched books against the
    exchange's, those on screen first) and the exchange's status and schedule. They write
    the store's metrics; the app draws them."""
    from kalshi_tui.pollers import audit_feed, watch_exchange

    def on_screen() -> list[str]:
        view = app.view  # the selected market and the watchlist group shown
        shown = list(view.groups.get(view.current_group, ()))
        return [view.selected, *shown] if view.selected else shown

    return [
        asyncio.create_task(audit_feed(store, rest, pool, lambda: pool.markets, on_screen), name="audit"),
        asyncio.create_task(watch_exchange(store, rest), name="exchange-status"),
    ]


async def _serve(
    profile: Profile,
    signer: Signer,
    theme: str | None,
    save: Callable[[Profile], Any] | None,
    recorder: Recorder | None = None,
) -> int:
    from kalshi_tui.store import Store
    from kalshi_tui.stream import Pool
    from kalshi_tui.ui.app import KalshiApp

    store = Store()
    rest = rest_client(profile, signer, store)
    pool = Pool(
        profile.ws_url, signer, store, profile.stream, markets=profile.tickers, rest=rest, recorder=recorder
    )
    app = KalshiApp(
        store, feed=pool, rest=rest, profile=profile, theme=theme, save_profile=save, account=rest
    )
    background = start_pollers(store, rest, pool, app)
    try:
        tune_gc()
        await app.run_async()
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await pool.close()
        if recorder is not None:
            recorder.close()
            if recorder.summary():
                import sys

                print(f"kalshi-tui: recording: {recorder.summary()}", file=sys.stderr)
        await rest.aclose()
    return app.return_code or 0
