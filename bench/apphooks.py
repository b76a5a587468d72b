"""Instruments for the real app, running headless in this process.

* ``ScreenMeter`` replaces Textual's headless driver with one that is *not* headless to the
  app: every frame is composed and rendered to terminal escape codes exactly as it would be
  for a real terminal, then counted (bytes, time) instead of written.
* ``LatencyProbe`` follows every message about a visible market (its exchange stamp ``ts_ms``
  and its arrival here) to the frame that repaints that market's row. Messages that change
  nothing visible (a level deep in the book) are dropped when the watchlist finds the row
  unchanged, so they never count as slow.

Hook points (all patched on the class, undone by ``uninstall``): ``Store.apply`` (core),
``LiveGrid.set_row`` and ``LiveGrid._render_row`` (the watchlist's grid).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.drivers import headless_driver

from kalshi_tui.store import Store


class ScreenMeter:
    def __init__(self) -> None:
        self.writes: list[tuple[float, int]] = []  # (perf_counter, bytes) per frame written
        self.listeners: list[Callable[[float], None]] = []
        self._saved: type | None = None

    def install(self) -> None:
        meter = self
        base = headless_driver.HeadlessDriver

        class CountingDriver(base):  # type: ignore[misc, valid-type]
            @property
            def is_headless(self) -> bool:
                return False  # so the app renders every frame to escape codes

            def write(self, data: str) -> None:
                now = time.perf_counter()
                meter.writes.append((now, len(data.encode("utf-8", "surrogateescape"))))
                for listener in meter.listeners:
                    listener(now)

        self._saved = base
        headless_driver.HeadlessDriver = CountingDriver  # type: ignore[misc]

    def uninstall(self) -> None:
        if self._saved is not None:
            headless_driver.HeadlessDriver = self._saved  # type: ignore[misc]

    def between(self, t0: float, t1: float) -> tuple[int, int]:
        """(frames, bytes) written in [t0, t1)."""
        frames = [n for t, n in self.writes if t0 <= t < t1]
        return len(frames), sum(frames)


class LatencyProbe:
    def __init__(self, screen: ScreenMeter) -> None:
        self.visible: set[str] = set()
        # ticker -> [(exchange stamp, arrival)] of messages the screen has not shown, wall clock
        self.pending: dict[str, list[tuple[float | None, float]]] = {}
        self.awaiting: dict[str, list[tuple[float | None, float]]] = {}  # rows changed, not painted
        self.rendered: list[str] = []
        self.wire: list[float] = []  # seconds, exchange stamp -> frame written, per message
        self.arrival: list[float] = []  # seconds, message applied here -> frame written
        self.oldest: list[float] = []  # seconds, per repainted row: its oldest unshown message
        self.recording = False
        self._patches: list[tuple[type, str, Any]] = []
        screen.listeners.append(self._on_write)

    def install(self) -> bool:
        """False when the UI lacks the hook points (then only CPU and frames are measured)."""
        try:
            from kalshi_tui.ui.grid import LiveGrid
        except ImportError:
            return False
        if not (hasattr(LiveGrid, "set_row") and hasattr(LiveGrid, "_render_row")):
            return False
        probe = self
        apply, set_row, render_row = Store.apply, LiveGrid.set_row, LiveGrid._render_row

        def apply_hook(store: Store, msg: Any, *args: Any, **kw: Any) -> int:
            flag = apply(store, msg, *args, **kw)
            ticker = getattr(msg, "market_ticker", None)
            if ticker in probe.visible:
                ts = getattr(msg, "ts_ms", None)
                probe.pending.setdefault(ticker, []).append((ts / 1000 if ts else None, time.time()))
            return flag

        def set_row_hook(grid: Any, key: str, *args: Any, **kw: Any) -> bool:
            changed: bool = set_row(grid, key, *args, **kw)
            seen = probe.pending.pop(key, None)
            if changed and seen:
                probe.awaiting.setdefault(key, []).extend(seen)
            return changed

        def render_row_hook(grid: Any, key: str, *args: Any, **kw: Any) -> Any:
            probe.rendered.append(key)
            return render_row(grid, key, *args, **kw)

        for cls, name, fn in (
            (Store, "apply", apply_hook),
            (LiveGrid, "set_row", set_row_hook),
            (LiveGrid, "_render_row", render_row_hook),
        ):
            self._patches.append((cls, name, getattr(cls, name)))
            setattr(cls, name, fn)
        return True

    def uninstall(self) -> None:
        for cls, name, fn in reversed(self._patches):
            setattr(cls, name, fn)
        self._patches.clear()

    def _on_write(self, _now: float) -> None:
        if not self.rendered:
            return
        wall = time.time()
        for key in self.rendered:
            seen = self.awaiting.pop(key, None)
            if not seen or not self.recording:
                continue
            for stamp, arrived in seen:
                self.arrival.append(wall - arrived)
                if stamp is not None:
                    self.wire.append(wall - stamp)
            self.oldest.append(wall - seen[0][1])
        self.rendered.clear()
