"""Reconnect delays: exponential backoff with full jitter, reset after a stable session."""

from __future__ import annotations

import random


class Backoff:
    """``delay()`` grows base·2ⁿ up to ``cap``, drawn uniformly from [0, that] (full jitter,
    so a crowd of clients doesn't reconnect in lockstep). ``connected(at)`` and
    ``disconnected(at)`` reset the schedule only if the session lasted ``stable_after``
    seconds: an exchange that accepts and then drops us at once still gets backed off."""

    def __init__(
        self, base: float, cap: float, stable_after: float, rng: random.Random | None = None
    ) -> None:
        self.base = base
        self.cap = cap
        self.stable_after = stable_after
        self.attempt = 0
        self._rng = rng or random.Random()
        self._connected_at: float | None = None

    def delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return self._rng.uniform(0, ceiling)

    def connected(self, at: float) -> None:
        self._connected_at = at

    def disconnected(self, at: float) -> None:
        if self._connected_at is not None and at - self._connected_at >= self.stable_after:
            self.attempt = 0
        self._connected_at = None
