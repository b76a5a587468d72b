"""The REST budget's rules, as pure code: a token bucket with priorities, the wait a 429 asks
for, a cache with a time to live, and the health record the Connection tab shows.

Time always comes in as an argument (monotonic seconds), so tests drive it by hand; the REST
client (``kalshi_tui.rest``) owns the clock, the sockets and the waiting.
"""

from __future__ import annotations

import email.utils
import heapq
import itertools
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

# Priorities: higher is served first when the budget is short.
ON_SCREEN = 30  # what the user is looking at now (the details of the selected market)
WATCHLIST = 20  # names and rules of the watched markets
ACCOUNT = 10  # fills backfill, portfolio
BACKGROUND = 0  # the market catalogue for search, audits

#: Kalshi's Basic tier: 20 reads a second (docs.kalshi.com, "Rate limits").
BASIC_READS_PER_SECOND = 20.0
BACKOFF_BASE = 0.5  # s, first wait after a 429 that names none
BACKOFF_CAP = 30.0  # s, longest wait a 429 can impose on us (a bad header can't stall us for hours)


class Limiter(Generic[T]):
    """A token bucket (``rate`` a second, ``burst`` at most) in front of a priority queue.

    Items wait in the queue; ``pop_ready(now)`` hands out as many as there are tokens,
    highest priority first and first come first within a priority. ``hold(until)`` stops
    everything until then: a 429 is about the whole account, not one request.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._tokens = self.burst
        self._at: float | None = None  # when _tokens was last brought up to date
        self._held_until = 0.0
        self._queue: list[tuple[int, int, T]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def held_until(self) -> float:
        return self._held_until

    def push(self, item: T, priority: int) -> None:
        heapq.heappush(self._queue, (-priority, next(self._order), item))

    def remove(self, item: T) -> None:
        """Forget a waiter that gave up (cancelled)."""
        kept = [entry for entry in self._queue if entry[2] is not item]
        if len(kept) != len(self._queue):
            self._queue = kept
            heapq.heapify(self._queue)

    def hold(self, until: float) -> None:
        self._held_until = max(self._held_until, until)

    def _refill(self, now: float) -> None:
        if self._at is not None and now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        if self._at is None or now > self._at:
            self._at = now

    def pop_ready(self, now: float) -> list[T]:
        """The waiters that may go now, best first; each takes one token."""
        if now < self._held_until:
            return []
        self._refill(now)
        out = []
        while self._queue and self._tokens >= 1:
            self._tokens -= 1
            out.append(heapq.heappop(self._queue)[2])
        return out

    def next_in(self, now: float) -> float | None:
        """Seconds until the next waiter may go (None: nobody waits)."""
        if not self._queue:
            return None
        self._refill(now)
        token = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
        return max(token, self._held_until - now, 0.0)


def retry_after(value: str | None, wall_now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks us to wait (a number, or an HTTP date), capped
    at ``BACKOFF_CAP``; None if there is none or it can't be read."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - wall_now
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), BACKOFF_CAP)


def backoff(attempt: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """The wait after the ``attempt``-th 429 in a row (0-based) that named no wait."""
    return min(cap, base * 2**attempt)


class TtlCache(Generic[T]):
    """Answers that rarely change (events, series, rules), each kept ``ttl`` seconds; the
    oldest go first beyond ``size`` entries so memory stays bounded."""

    def __init__(self, ttl: float, size: int = 2000) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[str, tuple[float, T]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str, now: float) -> T | None:
        hit = self._items.get(key)
        if hit is None:
            return None
        if now - hit[0] >= self.ttl:
            del self._items[key]
            return None
        return hit[1]

    def put(self, key: str, value: T, now: float) -> None:
        self._items[key] = (now, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass(slots=True)
class RestHealth:
    """How the REST budget is doing, for the Connection tab. The REST client is its one writer."""

    limit: float = BASIC_READS_PER_SECOND  # requests a second allowed
    requests: int = 0
    rate_limited: int = 0  # 429s answered
    errors: int = 0
    last_error: str = ""
    last_error_at: float | None = None  # wall clock
    last_wait: float | None = None  # s, the wait the last 429 imposed
    queued: int = 0  # requests waiting for the budget now
    cache_hits: int = 0
    cache_misses: int = 0
    by_path: Counter[str] = field(default_factory=Counter)  # "/markets", "/events", ...
    _recent: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))

    def record_request(self, path: str, now: float) -> None:
        self.requests += 1
        self.by_path["/" + path.strip("/").split("/")[0]] += 1
        self._recent.append(now)

    def per_minute(self, now: float) -> int:
        """Requests sent in the last 60 s (``now`` on the same clock as ``record_request``)."""
        recent = self._recent
        while recent and recent[0] <= now - 60:
            recent.popleft()
        return len(recent)

    def record_error(self, sentence: str, wall_now: float) -> None:
        self.errors += 1
        self.last_error = sentence
        self.last_error_at = wall_now
