"""Benchmark 4: bytes the dashboard writes to a real terminal: what an SSH session carries.

``kalshi-tui`` (the real entry point, on a profile pointing at a simulator process) runs in a
pseudo-terminal with ``TERM=xterm-256color`` at 80x24 and 200x50 under ~5k msgs/s over 500
markets. Bytes written per second are counted at steady state. The baseline is
``bench.baseline_app``: the same rows, store, feed and refresh rate, drawn with a stock
``DataTable``. The CPU of each terminal program is reported too. The app is also measured
showing the depth ladder (key ``2``: the YES ladder, trades beside it when wide), the price
chart (key ``c``: the first market's 1h candles, extended by live trades), the portfolio (key
``6``) and the market's details (key ``i``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tomli_w

from bench.app_firehose import app_available
from bench.common import Result, log, unavailable
from bench.simproc import SimProcess, frames_per_step
from bench.term import Terminal

TITLE = "SSH bandwidth: bytes to a real terminal"
MARKETS = 500
MSGS_PER_S = 5_000
SIZES = ((80, 24), (200, 50))
LIVE = "¢".encode()  # a price on screen: the first live frame
#: the other views measured: (name, keys pressed once live, what is on screen when they show)
VIEWS = {
    "app-depth": ("depth ladder", b"2", b"spread"),
    "app-chart": ("price chart", b"c", b"candles   last"),
    "app-portfolio": ("portfolio", b"6", b"Portfolio value"),
    "app-details": ("details", b"i", b"Rules"),
}


def write_profile(path: Path, sim: SimProcess, tickers: list[str], *, flash: bool = True) -> None:
    doc: dict[str, Any] = {
        "default_profile": "bench",
        "profiles": {
            "bench": {
                "environment": "custom",
                "ws_url": sim.ws_url,
                "rest_url": sim.rest_url,
                "key_id": sim.key_id,
                "key_file": str(sim.key_file),
                "refresh_rate": 10.0,
                "watchlists": {"all": tickers},
                "flash": flash,
            }
        },
    }
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    path.chmod(0o600)


def measure(
    argv: list[str],
    cols: int,
    rows: int,
    settle: float,
    window: float,
    view: tuple[str, bytes, bytes] | None = None,
) -> dict[str, Any]:
    with Terminal(argv, cols=cols, rows=rows, keep_text=16 << 20) as term:
        live = term.wait_for(LIVE, timeout=30)
        if live is None:
            raise RuntimeError(f"nothing live on screen after 30 s: {term.text[-300:]!r}")
        if view is not None:
            _name, keys, shown = view
            os.write(term.fd, keys)
            if term.wait_for(shown, timeout=30) is None:
                raise RuntimeError(f"{keys!r} showed no {shown!r} after 30 s")
        time.sleep(settle)
        t0, c0 = time.monotonic(), term.cpu_seconds() or 0.0
        time.sleep(window)
        t1, c1 = time.monotonic(), term.cpu_seconds() or 0.0
        nbytes = term.bytes_between(t0, t1)
        rss = term.rss_mb()
    return {
        "bytes_per_s": nbytes / (t1 - t0),
        "cpu_share": (c1 - c0) / (t1 - t0),
        "live_after_s": live,
        "rss_mb": rss,
    }


def run(smoke: bool) -> Result:
    why = app_available()
    if why:
        return unavailable("ssh_bandwidth", TITLE, why)
    res = Result("ssh_bandwidth", TITLE)
    settle, window = (0.3, 0.7) if smoke else (3.0, 8.0)
    sizes = SIZES[:1] if smoke else SIZES
    if smoke:
        res.note("smoke: 80x24 only, the watchlist only")
    rate = MSGS_PER_S / frames_per_step(MARKETS)
    out: dict[str, dict[str, Any]] = {}
    with (
        SimProcess(seed=5, rate=rate, markets=MARKETS) as sim,
        tempfile.TemporaryDirectory(prefix="kalshi-bench-") as tmp,
    ):
        cfg = Path(tmp) / "config.toml"
        write_profile(cfg, sim, sim.tickers()[:MARKETS])
        quiet = Path(tmp) / "quiet.toml"  # the profile setting for slow links: flash = false
        write_profile(quiet, sim, sim.tickers()[:MARKETS], flash=False)
        programs = {
            "app": [sys.executable, "-m", "kalshi_tui", "--config", str(cfg)],
            "app-noflash": [sys.executable, "-m", "kalshi_tui", "--config", str(quiet)],
            "datatable": [sys.executable, "-m", "bench.baseline_app", "--config", str(cfg)],
        }
        if not smoke:  # (a smoke run has no time for them: the grid alone says the pipe works)
            programs.update({kind: programs["app"] for kind in VIEWS})
        for cols, rows in sizes:
            for kind, argv in programs.items():
                r = out[f"{kind}/{cols}x{rows}"] = measure(argv, cols, rows, settle, window, VIEWS.get(kind))
                log(
                    f"ssh: {kind:11s} {cols}x{rows}: {r['bytes_per_s'] / 1024:7.1f} KiB/s, "
                    f"CPU {r['cpu_share']:.0%}"
                )
    res.extra.update(runs=out, msgs_per_s_asked=MSGS_PER_S, markets=MARKETS, window_s=window)
    for cols, rows in sizes:
        app, base = out[f"app/{cols}x{rows}"], out[f"datatable/{cols}x{rows}"]
        big = (cols, rows) == (200, 50)
        ok = app["bytes_per_s"] <= base["bytes_per_s"] / 5 and (not big or app["bytes_per_s"] <= 50_000)
        res.add(
            f"{cols}x{rows}: bytes to the terminal",
            app["bytes_per_s"],
            "B/s",
            base["bytes_per_s"],
            "stock DataTable",
            target="≤ 1/5 of baseline" + (", ≤ 50 KB/s" if big else ""),
            met=ok,
        )
        quiet_run = out[f"app-noflash/{cols}x{rows}"]
        quiet_ok = quiet_run["bytes_per_s"] <= base["bytes_per_s"] / 5 and (
            not big or quiet_run["bytes_per_s"] <= 50_000
        )
        res.add(
            f"  {cols}x{rows}: with flash = false",
            quiet_run["bytes_per_s"],
            "B/s",
            base["bytes_per_s"],
            "stock DataTable",
            target="≤ 1/5 of baseline" + (", ≤ 50 KB/s" if big else ""),
            met=quiet_ok,
        )
        res.add(
            f"  {cols}x{rows}: CPU of the terminal program",
            100 * app["cpu_share"],
            "% of a core",
            100 * base["cpu_share"],
            "stock DataTable",
        )
        for kind, (name, _keys, _shown) in VIEWS.items():
            view = out.get(f"{kind}/{cols}x{rows}")
            if view is None:
                continue
            res.add(
                f"  {cols}x{rows}: {name}: bytes to the terminal",
                view["bytes_per_s"],
                "B/s",
                base["bytes_per_s"],
                "stock DataTable",
                target="≤ 1/5 of baseline" + (", ≤ 50 KB/s" if big else ""),
                met=view["bytes_per_s"] <= base["bytes_per_s"] / 5
                and (not big or view["bytes_per_s"] <= 50_000),
            )
            res.add(
                f"  {cols}x{rows}: {name}: CPU",
                100 * view["cpu_share"],
                "% of a core",
                100 * base["cpu_share"],
                "stock DataTable",
            )
    return res
