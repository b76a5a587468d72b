"""What every benchmark shares: result records, the machine, CPU clocks, percentiles, the table.

A benchmark returns one ``Result``: rows of figures, each next to the baseline or ceiling
measured in the same run (and the ratio between them), and the target it is held to.
A figure that could not be measured is absent with a reason, never invented.
"""

from __future__ import annotations

import asyncio
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

OK = "ok"
NOT_AVAILABLE = "not available"
ERROR = "error"


@dataclass
class Row:
    """One figure. ``ratio`` is value / baseline unless the row says otherwise."""

    name: str
    value: float | None
    unit: str = ""
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None  # None: no target, or it could not be judged

    def __post_init__(self) -> None:
        if self.ratio is None and self.value is not None and self.baseline:
            self.ratio = self.value / self.baseline


@dataclass
class Result:
    key: str
    title: str
    status: str = OK
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, *args: Any, **kwargs: Any) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        self.notes.append(text)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        rows = [Row(**r) for r in data.pop("rows", [])]
        return cls(rows=rows, **data)


def unavailable(key: str, title: str, why: str) -> Result:
    return Result(key, title, status=NOT_AVAILABLE, notes=[why])


# ---- the machine ----------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "packages": {d: _version(d) for d in ("kalshi-tui", "websockets", "msgspec", "textual", "rich")},
    }


# ---- clocks ---------------------------------------------------------------------------------


def children_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (from /proc/stat)."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def books_synced(
    store: Any, markets: int, timeout: float = 30.0, watch: asyncio.Task[Any] | None = None
) -> float:
    """Seconds until ``store`` holds ``markets`` books, every one synced from its snapshot.
    Raises ``watch``'s error if that task (the feed) ends first."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if watch is not None and watch.done():
            watch.result()
        books = [s.book for s in store.markets.values()]
        if len(books) >= markets and all(b.synced for b in books):
            return time.monotonic() - t0
        await asyncio.sleep(0.02)
    raise TimeoutError(f"books not all synced after {timeout:.0f} s")


def proc_cpu_seconds(pid: int) -> float | None:
    """CPU time of any process of ours, from /proc (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def proc_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mb() -> float:
    return proc_rss_mb(os.getpid()) or 0.0


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (no interpolation: every reported value was observed)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# ---- the table ------------------------------------------------------------------------------


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit in ("msgs/s", "frames/s", "B/s") or abs(value) >= 10_000:
        if abs(value) >= 1_000_000:
            text = f"{value / 1_000_000:.2f}M"
        elif abs(value) >= 10_000:
            text = f"{value / 1000:.1f}k"
        else:
            text = f"{value:.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def _mark(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: ""}[met]


def table(results: Sequence[Result]) -> str:
    header = ("benchmark / figure", "value", "baseline (same run)", "ratio", "target", "")
    lines: list[tuple[str, ...] | str] = [header]  # a str is a note: printed as is
    for res in results:
        other = res.extra.get("other_load_cores")
        busy = f" (other processes: {other:.2f} cores)" if isinstance(other, float) and other >= 0.1 else ""
        lines.append(
            (
                f"[{res.key}] {res.title}" + ("" if res.status == OK else f": {res.status}") + busy,
                "",
                "",
                "",
                "",
                "",
            )
        )
        for row in res.rows:
            base = "" if row.baseline is None else f"{fmt(row.baseline, row.unit)} ({row.baseline_name})"
            ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
            lines.append((f"  {row.name}", fmt(row.value, row.unit), base, ratio, row.target, _mark(row.met)))
        lines += [f"  note: {n}" for n in res.notes]
    cells = [line for line in lines if isinstance(line, tuple)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    out = []
    for i, line in enumerate(lines):
        if isinstance(line, str):
            out.append(line)
            continue
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
