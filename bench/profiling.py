"""Where the time goes: a cProfile of one call, as a short list for results.json."""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable
from typing import Any


def hot_spots(fn: Callable[[], object], top: int = 12) -> list[dict[str, Any]]:
    """The ``top`` functions by own time (tottime) during ``fn()``, with their share."""
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    return summarize(prof, top)


async def hot_spots_while(seconds: float, top: int = 12) -> list[dict[str, Any]]:
    """The same for everything this thread's event loop runs during ``seconds``."""
    import asyncio

    prof = cProfile.Profile()
    prof.enable()
    await asyncio.sleep(seconds)
    prof.disable()
    return summarize(prof, top)


def summarize(prof: cProfile.Profile, top: int = 12) -> list[dict[str, Any]]:
    stats = pstats.Stats(prof)
    total = stats.total_tt or 1.0  # type: ignore[attr-defined]
    rows = []
    for (path, line, func), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{_short(path)}:{line}({func})",
                "calls": calls,
                "own_s": round(tottime, 4),
                "own_share": round(tottime / total, 3),
                "cum_s": round(cumtime, 4),
            }
        )
    rows.sort(key=lambda r: r["own_s"], reverse=True)
    return rows[:top]


def _short(path: str) -> str:
    for marker in ("kalshi_tui/", "bench/", "site-packages/", "lib/python"):
        if marker in path:
            return path[path.index(marker) :]
    return path
