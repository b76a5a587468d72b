"""Benchmark 5: memory and CPU with 500 and 5,000 subscribed markets (pooled subscriptions).

For each size a simulator process runs that many markets at the same total rate (~5k msgs/s),
and two clients are measured one after the other:

* the dashboard (``kalshi-tui`` in a pseudo-terminal, every market in its watchlist), and
* the core alone (``Pool`` -> ``Store`` in a process of its own, as ``tail`` runs it).

Baseline from the same run: the dashboard watching a single market (its fixed cost: Python,
Textual, the app), so the ratio shows what the markets themselves add.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.app_firehose import app_available
from bench.common import Result, log
from bench.e2e import run_client
from bench.simproc import SimProcess, frames_per_step
from bench.ssh_bandwidth import LIVE, write_profile
from bench.term import Terminal

TITLE = "Scale: 500 and 5,000 subscribed markets"
SIZES = (500, 5000)
MSGS_PER_S = 5_000


def app_run(sim: SimProcess, tickers: list[str], tmp: Path, settle: float, window: float) -> dict[str, Any]:
    cfg = tmp / f"scale-{len(tickers)}.toml"
    write_profile(cfg, sim, tickers)
    argv = [sys.executable, "-m", "kalshi_tui", "--config", str(cfg)]
    with Terminal(argv, cols=120, rows=40) as term:
        live = term.wait_for(LIVE, timeout=40)
        if live is None:
            raise RuntimeError(f"nothing live on screen: {term.text[-300:]!r}")
        time.sleep(settle)
        t0, c0 = time.monotonic(), term.cpu_seconds() or 0.0
        peak = 0.0
        while time.monotonic() - t0 < window:
            time.sleep(0.25)
            peak = max(peak, term.rss_mb() or 0.0)
        t1, c1 = time.monotonic(), term.cpu_seconds() or 0.0
    return {"rss_mb": peak, "cpu_share": (c1 - c0) / (t1 - t0), "live_after_s": live}


def run(smoke: bool) -> Result:
    res = Result("scale", TITLE)
    settle, window = (0.3, 0.5) if smoke else (3.0, 6.0)
    with_app = app_available() is None and not smoke
    if not with_app:
        res.note("smoke: core only" if smoke else f"dashboard rows not measured: {app_available()}")
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="kalshi-bench-") as tmpdir:
        tmp = Path(tmpdir)
        for n in SIZES:
            with SimProcess(seed=13, rate=MSGS_PER_S / frames_per_step(n), markets=n) as sim:
                tickers = sim.tickers()[:n]
                core = run_client(sim, tickers, "ours", None, settle, window)
                core["cpu_share"] = core["cpu"] / core["seconds"]
                core["rate"] = core["frames"] / core["seconds"]
                runs[f"core/{n}"] = core
                log(
                    f"scale: core {n:5d} markets: RSS {core['rss_mb']:.0f} MB, CPU {core['cpu_share']:.0%}, "
                    f"{core['rate']:,.0f} msgs/s, {core['connections']} connection(s), "
                    f"synced in {core['synced_after']:.2f}s"
                )
                if with_app:
                    if n == SIZES[0]:
                        runs["app/1"] = app_run(sim, tickers[:1], tmp, settle, window)
                    app = runs[f"app/{n}"] = app_run(sim, tickers, tmp, settle, window)
                    log(f"scale: app  {n:5d} markets: RSS {app['rss_mb']:.0f} MB, CPU {app['cpu_share']:.0%}")
    res.extra.update(runs=runs, msgs_per_s=MSGS_PER_S, window_s=window)
    for n in SIZES:
        core = runs[f"core/{n}"]
        if with_app:
            app, one = runs[f"app/{n}"], runs["app/1"]
            big = n == max(SIZES)
            res.add(
                f"dashboard RSS, {n:,} markets",
                app["rss_mb"],
                "MB",
                one["rss_mb"],
                "dashboard, 1 market",
                target="≤ 150 MB" if big else "",
                met=app["rss_mb"] <= 150 if big else None,
            )
            res.add(
                f"  dashboard CPU, {n:,} markets",
                100 * app["cpu_share"],
                "% of a core",
                100 * one["cpu_share"],
                "dashboard, 1 market",
            )
        res.add(f"core RSS (Pool + Store), {n:,} markets", core["rss_mb"], "MB")
        res.add(
            f"  core CPU, {n:,} markets at {MSGS_PER_S // 1000}k msgs/s",
            100 * core["cpu_share"],
            "% of a core",
        )
        lost = core["gaps"] + core["lost_seq_frames"] + core["unsynced_books"]
        res.add(
            f"  core: connections / lost frames, {n:,} markets",
            core["connections"],
            "",
            target="0 lost",
            met=lost == 0,
        )
    per_1000 = 1000 / (SIZES[1] - SIZES[0])
    if with_app:
        a, b = runs[f"app/{SIZES[0]}"], runs[f"app/{SIZES[1]}"]
        res.extra["dashboard_mb_per_1000_markets"] = round((b["rss_mb"] - a["rss_mb"]) * per_1000, 1)
    c0, c1 = runs[f"core/{SIZES[0]}"], runs[f"core/{SIZES[1]}"]
    res.extra["core_mb_per_1000_markets"] = round((c1["rss_mb"] - c0["rss_mb"]) * per_1000, 1)
    return res
