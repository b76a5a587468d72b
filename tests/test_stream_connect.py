"""The connection never hands out credentials and never fails silently.

Tiny loopback HTTP servers play a misbehaving exchange: one redirects the upgrade to
another host, one answers 500 or 429, and a closed port refuses the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from bench.waiting import until
from kalshi_tui.auth import Signer, generate_key
from kalshi_tui.config import StreamSettings
from kalshi_tui.store import CONNECT, DOWN, Store
from kalshi_tui.stream import Pool
from kalshi_tui.ui.connection import errors_table, summary_text

QUICK = StreamSettings(backoff_base=0.05, backoff_cap=0.1)


class Http:
    """Answers every request with ``response`` and keeps each request's head."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(self.response)
            await writer.drain()
        writer.close()

    async def __aenter__(self) -> Http:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def answer(status: str, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Length: 0", "Connection: close", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode()


@contextlib.asynccontextmanager
async def dialing(url: str) -> AsyncIterator[Store]:
    store = Store()
    pool = Pool(url, Signer("key-id-1234", generate_key()), store, QUICK, markets=["KXA-1"])
    async with pool.running():
        yield store


def connect_errors(store: Store) -> list[str]:
    return [e.sentence for e in store.metrics.last_errors if e.kind == CONNECT]


async def test_a_redirect_is_refused_and_the_other_host_never_sees_our_headers() -> None:
    async with Http(answer("200 OK")) as elsewhere:
        location = f"ws://127.0.0.1:{elsewhere.port}/trade-api/ws/v2"
        async with Http(answer("302 Found", f"Location: {location}")) as exchange:
            async with dialing(f"ws://127.0.0.1:{exchange.port}/trade-api/ws/v2") as store:
                await until(lambda: store.metrics.connect_failures >= 2, "two refused redirects")
            assert b"KALSHI-ACCESS-KEY" in exchange.requests[0]
        assert elsewhere.requests == []
    (sentence, *_) = connect_errors(store)
    assert location in sentence and "redirect" in sentence


@pytest.mark.parametrize("status", ["500 Internal Server Error", "429 Too Many Requests"])
async def test_http_errors_on_the_upgrade_are_reported_and_the_badge_goes_down(status: str) -> None:
    code = status.split()[0]
    async with (
        Http(answer(status)) as exchange,
        dialing(f"ws://127.0.0.1:{exchange.port}/trade-api/ws/v2") as store,
    ):
        await until(lambda: store.metrics.state == DOWN, "the badge to say down")
    assert store.metrics.connect_failures >= 3
    assert any(f"HTTP {code}" in s for s in connect_errors(store))
    # The Connection tab shows the count and the sentence.
    assert f"Conn. fails {store.metrics.connect_failures}" in summary_text(store.metrics, time.time()).plain
    assert f"HTTP {code}" in str(errors_table(store.metrics).columns[2]._cells)


async def test_a_refused_connection_is_reported_and_the_badge_goes_down() -> None:
    async with Http(b"") as gone:
        port = gone.port  # closed on leaving: nothing listens there any more
    async with dialing(f"ws://127.0.0.1:{port}/trade-api/ws/v2") as store:
        await until(lambda: store.metrics.state == DOWN, "the badge to say down")
    assert store.metrics.connect_failures >= 3 and store.metrics.malformed == 0
    assert any("Cannot reach the exchange" in s for s in connect_errors(store))
