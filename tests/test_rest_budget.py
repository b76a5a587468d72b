"""The one REST budget over real HTTP on loopback: a 429 with ``Retry-After`` makes the
client wait that long and retry, and everyone else waits with it."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.waiting import GUARD, until
from kalshi_tui.budget import RestHealth
from kalshi_tui.rest import RestClient

RETRY_AFTER = 1.2  # s: longer than the client's own first backoff (0.5 s), so it must be read


@contextmanager
def limited_server(refusals: int) -> Iterator[tuple[str, list[tuple[float, str]]]]:
    """Answers the first ``refusals`` GETs with 429 + Retry-After, the rest with ``{}``;
    yields the base URL and (monotonic arrival time, path) of every request."""
    seen: list[tuple[float, str]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.append((time.monotonic(), self.path))
            if len(seen) <= refusals:
                body = b'{"error": {"code": "too_many_requests"}}'
                self.send_response(429)
                self.send_header("Retry-After", f"{RETRY_AFTER}")
            else:
                body = json.dumps({"exchange_active": True}).encode()
                self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/trade-api/v2", seen
    finally:
        server.shutdown()
        server.server_close()


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
