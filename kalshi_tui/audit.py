"""The feed audit's rules, as pure code: which market to look at next, and what a look at
``GET /markets/{t}/orderbook`` says about the streamed book.

The REST book carries no seq, so a look counts only when the streamed book did not change
between the request and the answer (``OrderBook.changes`` is the same at both ends), and a
mismatch counts only when nothing arrived for a short while after the answer either (a
delta the exchange sent before answering may still be on the wire). A market that
mismatches is looked at again soon; a second mismatch in a row means our book is wrong:
resync it. Time always comes in as an argument; ``kalshi_tui.pollers`` owns the waiting.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kalshi_tui.book import OrderBook
from kalshi_tui.numbers import ONE_DOLLAR, format_price, format_size, parse_price, parse_size

# Verdicts of one look.
MATCH = "match"
MISMATCH = "mismatch"  # first time: look again soon
RESYNC = "resync"  # the second mismatch in a row: the book must be fetched again
MOVING = "skipped: moving"  # a delta arrived between request and answer
UNSYNCED = "skipped: not synced"  # our book was being rebuilt: nothing to compare
FAILED = "failed"  # the REST call failed or its answer could not be read

INTERVAL = 5.0  # s between two looks (12 requests a minute)
SECOND_LOOK = 1.0  # s after a mismatch before the second look
SETTLE = 0.3  # s after the answer that a delta may still be on its way


Levels = dict[int, int]  # price (1/10,000 $) -> size (1/100 contract), bids only


def rest_book(body: dict[str, Any]) -> tuple[Levels, Levels]:
    """``{orderbook_fp: {yes_dollars: [[price, count], ...], no_dollars: [...]}}`` -> YES and
    NO bids (NO on the NO scale, as the stream keeps them). Raises ValueError with a sentence."""
    book = body.get("orderbook_fp")
    if not isinstance(book, dict):
        raise ValueError("the answer has no orderbook_fp")
    sides: list[Levels] = []
    for key in ("yes_dollars", "no_dollars"):
        raw = book.get(key) or []  # an empty side may come as null
        if not isinstance(raw, list):
            raise ValueError(f"orderbook_fp.{key} is not a list")
        levels: Levels = {}
        for level in raw:
            if not isinstance(level, list | tuple) or len(level) != 2:
                raise ValueError(f"orderbook_fp.{key} has a level that is not [price, count]")
            price, size = parse_price(level[0]), parse_size(level[1])
            if not 0 < price < ONE_DOLLAR or size < 0:
                raise ValueError(f"orderbook_fp.{key} has an impossible level {level[0]} x {level[1]}")
            if size:
                levels[price] = levels.get(price, 0) + size
        sides.append(levels)
    return sides[0], sides[1]


class Seen(NamedTuple):
    """The streamed book as it stood when the answer came."""

    yes: Levels
    no: Levels
    synced: bool
    changes: int

    @classmethod
    def of(cls, book: OrderBook) -> Seen:
        return cls(dict(book.yes), dict(book.no), book.synced, book.changes)


def first_difference(rest: tuple[Levels, Levels], seen: Seen) -> str:
    """The first level that differs, for people: 'YES 0.4500: streamed 12.00, exchange 10.00'."""
    for side, theirs, ours in (("YES", rest[0], seen.yes), ("NO", rest[1], seen.no)):
        for price in sorted(set(theirs) | set(ours), reverse=True):
            a, b = ours.get(price, 0), theirs.get(price, 0)
            if a != b:
                return f"{side} {format_price(price)}: streamed {format_size(a)}, exchange {format_size(b)}"
    return "same levels"


@dataclass(frozen=True, slots=True)
class Look:
    """One look in flight: the market and its book's change count when the request went out."""

    ticker: str
    changes: int


@dataclass(slots=True)
class AuditHealth:
    """What the Connection tab shows. The audit loop is its one writer."""

    matches: int = 0
    mismatches: int = 0
    moving: int = 0  # skipped: a delta arrived while we looked
    unsynced: int = 0  # skipped: our book was being rebuilt
    failed: int = 0
    resyncs: int = 0
    last: str = ""  # the last look, one line
    last_at: float | None = None  # wall clock of the last look
    suspects: set[str] = field(default_factory=set)  # mismatched once, waiting for a second look

    @property
    def skipped(self) -> int:
        return self.moving + self.unsynced

    @property
    def looks(self) -> int:
        return self.matches + self.mismatches + self.skipped + self.failed


class Auditor:
    """Picks the market to look at and judges the answer. ``next_look`` hands out one
    market every ``interval`` seconds, a round at a time (each watched market once, those on
    screen first); a suspect's second look comes ``second_look`` seconds after its mismatch,
    ahead of the round."""

    def __init__(
        self,
        health: AuditHealth | None = None,
        *,
        interval: float = INTERVAL,
        second_look: float = SECOND_LOOK,
    ) -> None:
        self.health = health if health is not None else AuditHealth()
        self.interval = interval
        self.second_look = second_look
        self._next_at: float | None = None  # when the next regular look may go
        self._done: set[str] = set()  # looked at in this round
        self._suspects: dict[str, float] = {}  # ticker -> when its second look is due

    def next_look(self, candidates: Sequence[str], on_screen: Collection[str], now: float) -> str | None:
        """The market to look at now, or None (see ``wait``). ``candidates``: the watched
        markets whose streamed book is synced, in watchlist order."""
        present = set(candidates)
        for ticker in [t for t in self._suspects if t not in present]:
            del self._suspects[ticker]  # unwatched, or being rebuilt: the look is moot
            self.health.suspects.discard(ticker)
        for ticker, due in self._suspects.items():
            if now >= due:
                return ticker
        if not candidates or (self._next_at is not None and now < self._next_at):
            return None
        eligible = [t for t in candidates if t not in self._done]
        if not eligible:
            self._done.clear()  # a new round
            eligible = list(candidates)
        pick = next((t for t in eligible if t in on_screen), eligible[0])
        self._done.add(pick)
        self._next_at = now + self.interval
        return pick

    def wait(self, now: float) -> float:
        """Seconds until ``next_look`` may have something (0: now)."""
        dues = list(self._suspects.values())
        dues.append(self._next_at if self._next_at is not None else now)
        return max(0.0, min(dues) - now)

    def ask(self, ticker: str, book: OrderBook) -> Look:
        return Look(ticker, book.changes)

    def judge(self, look: Look, rest: tuple[Levels, Levels], seen: Seen, settled: int, now: float) -> str:
        """The verdict of one look: ``rest`` the exchange's answer, ``seen`` our book when it
        came, ``settled`` our book's change count ``SETTLE`` seconds later."""
        h = self.health
        ticker = look.ticker
        if not seen.synced:
            verdict = UNSYNCED
            h.unsynced += 1
        elif seen.changes != look.changes:
            verdict = MOVING
            h.moving += 1
        elif rest == (seen.yes, seen.no):
            verdict = MATCH
            h.matches += 1
            self._clear(ticker)
        elif settled != seen.changes:
            verdict = MOVING  # a delta sent before the answer may have arrived after it
            h.moving += 1
        else:
            h.mismatches += 1
            if ticker in self._suspects:
                verdict = RESYNC
                h.resyncs += 1
                self._clear(ticker)
            else:
                verdict = MISMATCH
                self._suspects[ticker] = now + self.second_look
                h.suspects.add(ticker)
        if verdict in (MOVING, UNSYNCED) and ticker in self._suspects:
            self._suspects[ticker] = now + self.second_look  # still suspect: look again
        detail = f": {first_difference(rest, seen)}" if verdict in (MISMATCH, RESYNC) else ""
        h.last = f"{ticker} {verdict}{detail}"
        return verdict

    def failed(self, look: Look, reason: str, now: float) -> str:
        h = self.health
        h.failed += 1
        h.last = f"{look.ticker} {FAILED}: {reason}"
        if look.ticker in self._suspects:
            self._suspects[look.ticker] = now + self.second_look
        return FAILED

    def _clear(self, ticker: str) -> None:
        self._suspects.pop(ticker, None)
        self.health.suspects.discard(ticker)
