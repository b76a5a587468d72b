"""The benchmark suite still runs: ``python -m bench --smoke`` completes and writes a result for
every benchmark. No figure is asserted (they depend on the machine; see README, Performance)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, DEFAULT_OUT, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(900)  # a hang guard over the benchmarks' own guards (6 x 90 s)
def test_smoke_run_writes_every_benchmark_to_a_temporary_file() -> None:
    committed = DEFAULT_OUT.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=800,  # a hang guard: each benchmark has its own (bench.__main__.SMOKE_GUARD)
    )
    assert DEFAULT_OUT.read_bytes() == committed  # the committed results are untouched
    written = [
        line.removeprefix("written: ") for line in proc.stdout.splitlines() if line.startswith("written: ")
    ]
    assert len(written) == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = Path(written[0])
    assert out.resolve() != DEFAULT_OUT.resolve()
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
    out.unlink()


def test_a_smoke_run_refuses_to_write_over_the_committed_results(capsys: pytest.CaptureFixture[str]) -> None:
    committed = DEFAULT_OUT.read_bytes()
    for out in (DEFAULT_OUT, ROOT / "bench" / ".." / "bench" / "results.json"):
        with pytest.raises(SystemExit) as exit_:
            main(["--smoke", "--out", str(out)])
        assert exit_.value.code == 2
        assert "never go to bench/results.json" in capsys.readouterr().err
    assert DEFAULT_OUT.read_bytes() == committed
