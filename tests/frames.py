"""The real frames captured from Kalshi's sockets (tests/fixtures/kalshi-frames), for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FRAMES_DIR = Path(__file__).resolve().parent / "fixtures" / "kalshi-frames"


def _lines(name: str) -> list[dict[str, Any]]:
    path = FRAMES_DIR / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def captured(name: str = "frames-new.jsonl") -> list[dict[str, Any]]:
    """Records with a whole frame (fragments that hold only a ``msg`` are left out)."""
    return [r for r in _lines(name) if isinstance(r.get("frame"), dict) and "type" in r["frame"]]


def recovery_session() -> list[dict[str, Any]]:
    """The recorded get_snapshot recovery, received frames in wire order."""
    return [
        r["frame"] for r in _lines("demo-2026-08-17_get_snapshot_recovery.jsonl") if r.get("dir") == "recv"
    ]
