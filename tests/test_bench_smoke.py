"""The benchmark suite still runs: ``python -m bench --smoke`` completes and writes a result for
every benchmark. No figure is asserted (they depend on the machine; see README, Performance)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parents[1]


def test_smoke_run_writes_every_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.exists(), proc.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["mode"] == "smoke"
    assert set(report["benchmarks"]) == set(BENCHMARKS)
    for key, res in report["benchmarks"].items():
        # "not available" is honest (e.g. no app yet); "error" means the benchmark broke.
        assert res["status"] in ("ok", "not available"), (key, res["notes"])
        if res["status"] == "ok":
            assert res["rows"], key
            assert all("name" in row and "value" in row for row in res["rows"]), key
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "benchmark / figure" in proc.stdout
