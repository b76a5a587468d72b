"""Benchmark 6: start-up. ``kalshi-tui demo`` in a pseudo-terminal until the first live price is
on screen; ``kalshi-tui tail`` against a running simulator until its first line; and
``python -X importtime`` for the core and for the app.

Baselines from the same run: the interpreter alone (``python -c pass``) and
``import textual.app``, both as wall time of a fresh process.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Sequence

from bench.app_firehose import app_available
from bench.common import Result, log, median
from bench.simproc import SimProcess
from bench.ssh_bandwidth import LIVE
from bench.term import Terminal

TITLE = "Start-up: to the first live frame"
CORE_MODULES = "kalshi_tui.protocol, kalshi_tui.store, kalshi_tui.stream, kalshi_tui.auth"


def wall(argv: Sequence[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return median(times)


def import_times(modules: str, top: int = 8) -> dict[str, float]:
    """Import seconds per top-level package (its modules' own times summed), the ``top``
    biggest, and the total."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {modules}"],
        check=True,
        capture_output=True,
        text=True,
    )
    per: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        hit = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", line)
        if hit:
            package = hit[2].split(".")[0]
            per[package] = per.get(package, 0.0) + int(hit[1]) / 1e6
    out = dict(sorted(per.items(), key=lambda kv: kv[1], reverse=True)[:top])
    out["total"] = sum(per.values())
    return out


# As on a user's machine, Python may cache compiled modules (pip compiles an install; an
# editable one compiles on first import). A machine with PYTHONDONTWRITEBYTECODE set would
# otherwise measure compiling ~600 modules on every start instead of starting.
USER_ENV: dict[str, str | None] = {"PYTHONDONTWRITEBYTECODE": None}


def first_frame(argv: Sequence[str], runs: int, timeout: float = 20.0) -> tuple[float | None, float]:
    """(median seconds to the first live price on screen, median CPU seconds by then), after
    one start that is not counted (it may compile the modules)."""
    times, cpus = [], []
    for n in range(runs + 1):
        with Terminal(argv, cols=120, rows=40, env=USER_ENV) as term:
            seen = term.wait_for(LIVE, timeout)
            cpus.append(term.cpu_seconds() or 0.0)
        if seen is None:
            return None, 0.0
        if n:
            times.append(seen)
    return median(times), median(cpus[1:])


def first_line(argv: Sequence[str], runs: int, timeout: float = 20.0) -> float | None:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        times.append(time.perf_counter() - t)
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        if not line:
            return None
    return median(times)


def run(smoke: bool) -> Result:
    res = Result("startup", TITLE)
    runs = 1 if smoke else 5
    py = sys.executable
    interp = wall([py, "-c", "pass"], runs)
    textual_s = wall([py, "-c", "import textual.app"], runs)
    core_s = wall([py, "-c", f"import {CORE_MODULES}"], runs)
    log(
        f"startup: python {interp * 1000:.0f} ms, import textual.app {textual_s * 1000:.0f} ms, "
        f"core {core_s * 1000:.0f} ms"
    )
    why = app_available()
    if why is None:
        demo, demo_cpu = first_frame([py, "-m", "kalshi_tui", "demo"], max(1, runs - 2))
        log(f"startup: demo first live frame {demo}")
        res.add(
            "kalshi-tui demo -> first live price on screen",
            demo,
            "s",
            textual_s,
            "import textual.app",
            target="≤ 1.0 s",
            met=demo is not None and demo <= 1.0,
        )
        res.extra["demo_cpu_s_until_live"] = round(demo_cpu, 3)
        app_imports = import_times("kalshi_tui.ui.app")
        res.add(
            "  import kalshi_tui.ui.app (importtime total)",
            app_imports["total"],
            "s",
            textual_s,
            "import textual.app (wall)",
        )
        res.extra["app_imports_s"] = {k: round(v, 4) for k, v in app_imports.items()}
    else:
        res.add("kalshi-tui demo -> first live price on screen", None, "s", target="≤ 1.0 s")
        res.note(f"demo not measured: {why}")
    with SimProcess(seed=3, rate=2000, markets=40) as sim:
        tickers = ",".join(sim.tickers()[:10])
        tail = first_line(
            [
                py,
                "-m",
                "kalshi_tui",
                "tail",
                "--ws-url",
                sim.ws_url,
                "--key-id",
                sim.key_id,
                "--key-file",
                str(sim.key_file),
                "--markets",
                tickers,
            ],
            runs,
        )
    log(f"startup: tail first line {tail}")
    res.add(
        "kalshi-tui tail -> first line (sim already running)",
        tail,
        "s",
        interp,
        "python -c pass",
        target="≤ 1.0 s",
        met=tail is not None and tail <= 1.0,
    )
    core = import_times(CORE_MODULES)
    res.add("core imports (importtime total)", core["total"], "s", interp, "python -c pass (wall)")
    res.add("  core imports, wall of a fresh process", core_s, "s", interp, "python -c pass")
    res.extra["core_imports_s"] = {k: round(v, 4) for k, v in core.items()}
    res.extra.update(python_pass_s=round(interp, 4), import_textual_app_s=round(textual_s, 4), runs=runs)
    return res
