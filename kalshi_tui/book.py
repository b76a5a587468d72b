"""Exact order books rebuilt from snapshot + deltas, and per-sid sequence tracking.

Kalshi's book holds bids only: YES bids and NO bids, in 1/10,000 dollar with sizes in
1/100 contract. The best YES ask is 1 - best NO bid (same size) and vice versa. A book
that cannot be trusted (delta before snapshot, level pushed negative, crossed after an
update, a gap on its sid) is marked out of sync and says why; it never shows guessed numbers.
No I/O and no Textual here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from kalshi_tui.numbers import ONE_DOLLAR

YES = "yes"
NO = "no"
NO_SNAPSHOT_YET = "waiting for snapshot"  # a book's state until its first snapshot
NOT_SUBSCRIBED = "not subscribed"  # its market left the watchlist


class Quote(NamedTuple):
    price: int
    size: int


class DepthLevel(NamedTuple):
    price: int
    size: int
    cumulative: int


class OrderBook:
    """One market's book. ``synced`` is False until a snapshot and after any desync."""

    __slots__ = ("_best_no", "_best_yes", "changes", "no", "stale_reason", "synced", "ticker", "yes")

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker
        self.yes: dict[int, int] = {}
        self.no: dict[int, int] = {}
        self.synced = False
        self.stale_reason: str | None = NO_SNAPSHOT_YET
        # Cached best bids; None = empty side. Recomputed only when the best level empties.
        self._best_yes: int | None = None
        self._best_no: int | None = None
        # Counts every snapshot, delta and clear: a reader that saw the same count twice
        # knows nothing touched the book in between (the feed audit relies on it).
        self.changes = 0

    def __repr__(self) -> str:
        state = "synced" if self.synced else f"stale: {self.stale_reason}"
        return f"OrderBook({self.ticker!r}, {len(self.yes)}+{len(self.no)} levels, {state})"

    # -- updates ---------------------------------------------------------------------------

    def apply_snapshot(
        self, yes: Iterable[tuple[int, int]], no: Iterable[tuple[int, int]], *, no_on_yes_scale: bool = False
    ) -> bool:
        """Replace the book. With ``no_on_yes_scale`` (``use_yes_price``) NO levels are priced
        as the YES ask they imply, so they are stored as ``1 - price``. Returns synced."""
        self.changes += 1
        self.yes = {}
        self.no = {}
        for price, size in yes:
            if not self._level_ok(price, size):
                return self.desync(f"bad snapshot level {price}x{size}")
            self.yes[price] = self.yes.get(price, 0) + size
        for price, size in no:
            if no_on_yes_scale:
                price = ONE_DOLLAR - price
            if not self._level_ok(price, size):
                return self.desync(f"bad snapshot level {price}x{size}")
            self.no[price] = self.no.get(price, 0) + size
        # A zero-size level is "no level": keep the dicts meaning "resting size > 0".
        self.yes = {p: s for p, s in self.yes.items() if s}
        self.no = {p: s for p, s in self.no.items() if s}
        self._best_yes = max(self.yes) if self.yes else None
        self._best_no = max(self.no) if self.no else None
        if self._crossed():
            return self.desync("crossed book in snapshot")
        self.synced = True
        self.stale_reason = None
        return True

    @staticmethod
    def _level_ok(price: int, size: int) -> bool:
        return 0 < price < ONE_DOLLAR and size >= 0

    def apply_delta(self, side: str, price: int, delta: int, no_on_yes_scale: bool = False) -> bool:
        """Apply one change in resting size. Returns False (and desyncs) when it cannot."""
        self.changes += 1
        if not self.synced:
            if self.stale_reason == NO_SNAPSHOT_YET:
                self.stale_reason = "delta before snapshot"
            return False
        if side == YES:
            levels = self.yes
        elif side == NO:
            levels = self.no
            if no_on_yes_scale:
                price = ONE_DOLLAR - price
        else:
            return self.desync(f"delta on unknown side {side!r}")
        if not 0 < price < ONE_DOLLAR:
            return self.desync(f"delta at impossible price {price}")
        size = levels.get(price, 0) + delta
        if size > 0:
            levels[price] = size
            if side == YES:
                best = self._best_yes
                if best is None or price > best:
                    self._best_yes = price
                    if self._best_no is not None and price + self._best_no >= ONE_DOLLAR:
                        return self.desync("crossed book after delta")
            else:
                best = self._best_no
                if best is None or price > best:
                    self._best_no = price
                    if self._best_yes is not None and price + self._best_yes >= ONE_DOLLAR:
                        return self.desync("crossed book after delta")
            return True
        if size < 0:
            return self.desync(f"level {price} on {side} went negative")
        if price in levels:
            del levels[price]
            if side == YES:
                if price == self._best_yes:
                    self._best_yes = max(levels) if levels else None
            elif price == self._best_no:
                self._best_no = max(levels) if levels else None
        return True

    @property
    def lost_sync(self) -> bool:
        """Out of sync after it was live (a gap, a bad frame, a reconnect): resyncing, unlike a
        book still waiting for its first snapshot or one no longer subscribed."""
        return not self.synced and self.stale_reason not in (NO_SNAPSHOT_YET, NOT_SUBSCRIBED)

    def desync(self, reason: str) -> bool:
        """Mark the book untrustworthy until the next snapshot. Returns False for chaining."""
        self.synced = False
        self.stale_reason = reason
        return False

    def clear(self, reason: str = NO_SNAPSHOT_YET) -> None:
        self.changes += 1
        self.yes = {}
        self.no = {}
        self._best_yes = self._best_no = None
        self.desync(reason)

    def _crossed(self) -> bool:
        return (
            self._best_yes is not None
            and self._best_no is not None
            and self._best_yes + self._best_no >= ONE_DOLLAR
        )

    # -- reading ---------------------------------------------------------------------------

    @property
    def yes_bid(self) -> Quote | None:
        p = self._best_yes
        return None if p is None else Quote(p, self.yes[p])

    @property
    def no_bid(self) -> Quote | None:
        p = self._best_no
        return None if p is None else Quote(p, self.no[p])

    @property
    def yes_ask(self) -> Quote | None:
        """Best YES ask = 1 - best NO bid, with the NO bid's size."""
        p = self._best_no
        return None if p is None else Quote(ONE_DOLLAR - p, self.no[p])

    @property
    def no_ask(self) -> Quote | None:
        p = self._best_yes
        return None if p is None else Quote(ONE_DOLLAR - p, self.yes[p])

    @property
    def spread(self) -> int | None:
        """YES ask - YES bid in 1/10,000 dollar."""
        if self._best_yes is None or self._best_no is None:
            return None
        return ONE_DOLLAR - self._best_no - self._best_yes

    @property
    def mid(self) -> int | None:
        """Mid of the YES bid and ask, in 1/10,000 dollar, half rounded down."""
        if self._best_yes is None or self._best_no is None:
            return None
        return (self._best_yes + ONE_DOLLAR - self._best_no) // 2

    def levels(self, side: str) -> list[tuple[int, int]]:
        """Bids on one side, best first."""
        book = self.yes if side == YES else self.no
        return sorted(book.items(), reverse=True)

    def depth(self, side: str, limit: int | None = None, group: int = 0) -> list[DepthLevel]:
        """Bids best first with cumulative size. ``group`` (1/10,000 dollar, e.g. 100 = 1¢)
        merges levels into buckets, each priced at the bucket's floor."""
        out: list[DepthLevel] = []
        cumulative = 0
        for price, size in grouped(self.levels(side), group):
            cumulative += size
            out.append(DepthLevel(price, size, cumulative))
            if limit is not None and len(out) >= limit:
                break
        return out

    def total(self, side: str) -> int:
        return sum((self.yes if side == YES else self.no).values())


def grouped(levels: list[tuple[int, int]], step: int) -> list[tuple[int, int]]:
    """Merge best-first bid levels into ``step``-wide price buckets (bids round down).

    A bucket is priced at its floor, except the lowest one (prices under ``step``): its floor
    is 0, a price nothing trades at, so it is priced at its lowest real level instead. Every
    bid in a bucket is still at or above its price, and no level ever reads 0¢."""
    if step <= 1:
        return levels
    out: list[tuple[int, int]] = []
    last = -1
    for price, size in levels:
        bucket = price - price % step
        if out and bucket == last:
            label = price if bucket == 0 else bucket
            out[-1] = (label, out[-1][1] + size)
        else:
            out.append((bucket or price, size))
        last = bucket
    return out


class SeqTracker:
    """Per-sid sequence numbers. Every frame that carries a seq goes through ``check``,
    control frames included: they consume numbers too."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[int, int] = {}

    def check(self, sid: int, seq: int) -> int:
        """Record ``seq``; return how many frames were missed (0 = in order).

        A repeated or backwards number counts as a gap of 1: the stream is not what we
        think it is, and the caller must resync either way.
        """
        last = self._last.get(sid)
        self._last[sid] = seq
        if last is None or seq == last + 1:
            return 0
        return seq - last - 1 if seq > last else 1

    def last(self, sid: int) -> int | None:
        return self._last.get(sid)

    def forget(self, sid: int) -> None:
        self._last.pop(sid, None)

    def reset(self) -> None:
        self._last.clear()
