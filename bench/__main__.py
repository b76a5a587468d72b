"""``python -m bench [--smoke] [--only KEYS] [--out PATH]``: run the benchmarks, print a table,
write the results as JSON.

Each benchmark runs in a fresh interpreter (``python -m bench.one KEY``): no warm caches or
heap left over from another one, its own CPU clocks, and a hard time limit, after which its
whole process group is stopped and the row says so.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    ERROR,
    OK,
    Result,
    children_cpu_seconds,
    log,
    machine,
    machine_busy_seconds,
    table,
)

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results.json"
# key -> (module, time limit in seconds: full, smoke). A smoke run only proves the code paths
# work (tests/test_bench_smoke.py), so its limits are hang guards, not deadlines: a loaded CI
# machine may take several times the ~5 s each needs when idle.
SMOKE_GUARD = 90.0
BENCHMARKS: dict[str, tuple[str, float, float]] = {
    "ingest": ("bench.ingest", 90, SMOKE_GUARD),
    "e2e": ("bench.e2e", 180, SMOKE_GUARD),
    "app_firehose": ("bench.app_firehose", 90, SMOKE_GUARD),
    "ssh_bandwidth": ("bench.ssh_bandwidth", 200, SMOKE_GUARD),  # full: five programs per size
    "scale": ("bench.scale", 120, SMOKE_GUARD),
    "startup": ("bench.startup", 60, SMOKE_GUARD),
    "record_cost": ("bench.record_cost", 120, SMOKE_GUARD),
}


def _title(module: str) -> str:
    # Read the TITLE without importing the module (imports belong to the child).
    text = (HERE / (module.split(".", 1)[1] + ".py")).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("TITLE = "):
            return str(eval(line.split("=", 1)[1]))  # a plain string literal
    return module


def run_one(key: str, smoke: bool) -> Result:
    module, full_limit, smoke_limit = BENCHMARKS[key]
    limit = smoke_limit if smoke else full_limit
    with tempfile.TemporaryDirectory(prefix="kalshi-bench-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "bench.one", key, "--out", str(out)] + (["--smoke"] if smoke else [])
        start = time.monotonic()
        busy0, ours0 = machine_busy_seconds(), children_cpu_seconds()
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            cwd=HERE.parent,
        )
        tail: list[str] = []

        def pump() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                sys.stderr.write(f"  {line}")
                tail.append(line.rstrip())
                del tail[:-15]

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
        reader.join(timeout=5)
        seconds = time.monotonic() - start
        # CPU the rest of the machine used meanwhile: the figures are only as quiet as this.
        other = (machine_busy_seconds() - busy0 - (children_cpu_seconds() - ours0)) / seconds
        if code == 0 and out.exists():
            res = Result.from_json(json.loads(out.read_text(encoding="utf-8")))
        else:
            why = f"timed out after {limit:.0f} s" if code is None else f"exit code {code}"
            res = Result(key, _title(module), status=ERROR, notes=[why, *tail[-6:]])
        res.seconds = round(seconds, 1)
        res.extra["other_load_cores"] = round(max(0.0, other), 2)
        return res


def _code_version() -> dict[str, object]:
    """The commit measured, and product files that differed from it (a shared checkout)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=HERE.parent, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    status = git("status", "--porcelain", "--", "kalshi_tui").splitlines()
    changed = [line.split(maxsplit=1)[-1] for line in status]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_product_files": changed}


def output_path(out: Path | None, smoke: bool) -> Path | None:
    """Where the JSON goes. A smoke run's short, noisy figures never replace the committed
    results: it writes to a fresh temporary file, and refuses (None) to be pointed at them."""
    if not smoke:
        return out or DEFAULT_OUT
    if out is None:
        fd, name = tempfile.mkstemp(prefix="kalshi-bench-smoke-", suffix=".json")
        os.close(fd)
        return Path(name)
    if out.resolve() == DEFAULT_OUT.resolve():
        return None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="short runs (CI): the whole suite in ~30 s")
    parser.add_argument("--only", help=f"comma-separated keys, of: {', '.join(BENCHMARKS)}")
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the JSON (default: bench/results.json; with --smoke, a temporary file)",
    )
    args = parser.parse_args(argv)
    out = output_path(args.out, args.smoke)
    if out is None:
        parser.error(
            f"--smoke figures are not results: they never go to {DEFAULT_OUT.relative_to(HERE.parent)}"
        )
    keys = list(BENCHMARKS)
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        unknown = [k for k in keys if k not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark {unknown[0]!r}")
    started = datetime.now(UTC)
    t0 = time.monotonic()
    results = []
    for key in keys:
        log(f"== {key}")
        results.append(run_one(key, args.smoke))
    report = {
        "mode": "smoke" if args.smoke else "full",
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - t0, 1),
        "machine": machine(),
        "code": _code_version(),
        "benchmarks": {r.key: r.to_json() for r in results},
        "targets": {
            f"{r.key}: {row.name}": row.met for r in results for row in r.rows if row.met is not None
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    m = report["machine"]
    print(
        f"kalshi-tui benchmarks ({report['mode']}), {m['cpu']}, {m['cores']} cores, "
        f"Python {m['python']}, {report['seconds']} s"
    )
    print(table(results))
    print(f"\nwritten: {out}")
    return 0 if all(r.status in (OK, "not available") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
