"""The dashboard's background REST loops: the feed audit and the exchange's status.

Both run beside the app (``run.py`` starts them), go through the REST client's budget at
the lowest priority (``BACKGROUND``: never ahead of what the user asked for) and write only
their own part of the store's metrics, which the UI draws. Their rules are pure code in
``kalshi_tui.audit`` and ``kalshi_tui.exchange``; here is only the waiting and the calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from kalshi_tui.audit import RESYNC, SETTLE, Auditor, Seen, rest_book
from kalshi_tui.budget import BACKGROUND
from kalshi_tui.exchange import POLL_EVERY, read_schedule, read_status
from kalshi_tui.store import Store

IDLE_CHECK = 1.0  # s: with nothing to look at, how often to see whether that changed


class BookSource(Protocol):
    async def orderbook(self, ticker: str, *, priority: int = ...) -> dict[str, Any]: ...


class Resyncer(Protocol):
    """What the audit needs from the stream (``Pool.resync``)."""

    async def resync(self, ticker: str) -> bool: ...


class ExchangeSource(Protocol):
    async def exchange_status(self, *, priority: int = ...) -> dict[str, Any]: ...
    async def exchange_schedule(self, *, priority: int = ...) -> dict[str, Any]: ...


async def audit_feed(
    store: Store,
    rest: BookSource,
    feed: Resyncer,
    watched: Callable[[], Sequence[str]],
    on_screen: Callable[[], Collection[str]],
    auditor: Auditor | None = None,
    *,
    settle: float = SETTLE,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
) -> None:
    """Compare streamed books with the exchange's REST books until cancelled. ``watched``
    gives the subscribed markets in order, ``on_screen`` those the user sees now."""
    auditor = auditor if auditor is not None else Auditor(store.metrics.audit)
    health = auditor.health
    while True:
        now = clock()
        markets = store.markets
        candidates = [t for t in watched() if t in markets and markets[t].book.synced]
        ticker = auditor.next_look(candidates, on_screen(), now)
        if ticker is None:
            await asyncio.sleep(min(max(auditor.wait(now), 0.01), IDLE_CHECK))
            continue
        book = markets[ticker].book
        look = auditor.ask(ticker, book)
        try:
            levels = rest_book(await rest.orderbook(ticker, priority=BACKGROUND))
        except Exception as exc:  # the REST health has the details; the audit just counts it
            auditor.failed(look, str(exc) or exc.__class__.__name__, clock())
            health.last_at = wall_clock()
            store.touch_connection()
            continue
        seen = Seen.of(book)
        await asyncio.sleep(settle)  # a delta sent before the answer may still be on the wire
        verdict = auditor.judge(look, levels, seen, book.changes, clock())
        health.last_at = wall_clock()
        store.touch_connection()
        if verdict == RESYNC:
            store.record_error(
                None, health.last, "An order book differed from the exchange's twice: resyncing it."
            )
            await feed.resync(ticker)


async def watch_exchange(store: Store, rest: ExchangeSource, *, every: float = POLL_EVERY) -> None:
    """Read ``/exchange/status`` and ``/exchange/schedule`` every ``every`` seconds until
    cancelled. A failed read keeps what was known (the REST health shows the failure)."""
    state = store.metrics.exchange
    while True:
        with contextlib.suppress(Exception):
            read_status(state, await rest.exchange_status(priority=BACKGROUND))
        with contextlib.suppress(Exception):
            read_schedule(state, await rest.exchange_schedule(priority=BACKGROUND))
        store.touch_connection()
        await asyncio.sleep(every)
