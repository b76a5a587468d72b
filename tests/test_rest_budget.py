"""The one REST budget over real HTTP on loopback: a 429 with ``Retry-After`` makes the
client wait that long and retry, and everyone else waits with it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.waiting import GUARD, until
from kalshi_tui.budget import RestHealth
from kalshi_tui.rest import RestClient
from tests.loopback_http import loopback_http

RETRY_AFTER = 1.2  # s: longer than the client's own first backoff (0.5 s), so it must be read


@contextmanager
def limited_server(refusals: int) -> Iterator[tuple[str, list[tuple[float, str]]]]:
    """Answers the first ``refusals`` GETs with 429 + Retry-After, the rest with ``{}``;
    yields the base URL and (monotonic arrival time, path) of every request."""
    seen: list[tuple[float, str]] = []

    def answer(path: str) -> tuple[int, dict[str, str], bytes]:
        seen.append((time.monotonic(), path))
        if len(seen) <= refusals:
            return 429, {"Retry-After": f"{RETRY_AFTER}"}, b'{"error": {"code": "too_many_requests"}}'
        return 200, {}, json.dumps({"exchange_active": True}).encode()

    with loopback_http(answer) as url:
        yield url, seen


async def test_a_429_with_retry_after_makes_the_client_wait_that_long_and_retry() -> None:
    health = RestHealth()
    with limited_server(refusals=1) as (url, seen):
        client = RestClient(url, health=health)
        try:
            body = await asyncio.wait_for(client.exchange_status(), GUARD)  # a hang guard only
        finally:
            await client.aclose()
    assert body == {"exchange_active": True}
    assert len(seen) == 2
    # The retry came no sooner than the server asked (the arrival times bound the wait from below).
    assert seen[1][0] - seen[0][0] >= RETRY_AFTER
    assert (health.requests, health.rate_limited, health.last_wait, health.errors) == (2, 1, RETRY_AFTER, 0)


async def test_a_429_holds_back_the_other_callers_too() -> None:
    with limited_server(refusals=1) as (url, seen):
        client = RestClient(url)
        try:
            first = asyncio.ensure_future(client.exchange_status())
            # Once the 429 is in, a second call must wait out the same Retry-After.
            await until(lambda: client.health.rate_limited, "the first call was answered 429")
            await asyncio.wait_for(asyncio.gather(first, client.exchange_status()), GUARD)
        finally:
            await client.aclose()
    assert len(seen) == 3
    assert min(t for t, _ in seen[1:]) - seen[0][0] >= RETRY_AFTER
