"""The WebSocket side: signed handshake, command loop, ordered writer, heartbeat.

One port serves both protocols, as one host does for Kalshi's clients here:
``/trade-api/ws/v2`` upgrades after the signature checks out (401 before the upgrade
otherwise) and ``/trade-api/v2/...`` is answered as plain HTTP from ``process_request``.
The library's own keepalive is off; the exchange's heartbeat is a Ping with payload
``heartbeat`` every ``ping_interval`` seconds, and a client that leaves one unanswered for
``ping_timeout`` seconds is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConcurrencyError, ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from kalshi_tui.auth import HEADER_KEY, HEADER_SIGNATURE, HEADER_TIMESTAMP, WS_PATH, verify
from kalshi_tui.sim.faults import Faults
from kalshi_tui.sim.handlers import CommandHandler
from kalshi_tui.sim.hub import Client, Hub
from kalshi_tui.sim.rest import REST_PREFIX, Rest, json_response

PING_PAYLOAD = b"heartbeat"
WRITE_BATCH = 512  # frames written per syscall
HIGH_WATER = 1 << 20  # bytes buffered in the transport before the writer waits for the socket

log = logging.getLogger("kalshi_tui.sim")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    public_key: rsa.RSAPublicKey
    account: bool = True  # False: market data only; fill/market_positions answer error 9


def _header(headers: Headers, name: str) -> str | None:
    try:
        return headers.get(name)
    except LookupError:  # the header was sent twice: not a valid signature either
        return None


class ExchangeServer:
    def __init__(
        self,
        hub: Hub,
        commands: CommandHandler,
        rest: Rest,
        faults: Faults,
        *,
        keys: dict[str, ApiKey],
        ping_interval: float,
        ping_timeout: float,
        skew_ms: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hub = hub
        self.commands = commands
        self.rest = rest
        self.faults = faults
        self.keys = keys
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.skew_ms = skew_ms
        self.clock = clock
        self.refused = 0  # handshakes answered 401

    # -- authentication ----------------------------------------------------------------------

    def authorized(self, headers: Headers, method: str, path: str) -> bool:
        key_id = _header(headers, HEADER_KEY)
        ts = _header(headers, HEADER_TIMESTAMP)
        sig = _header(headers, HEADER_SIGNATURE)
        if not key_id or not ts or not sig or not ts.isdigit() or len(ts) > 16:
            return False
        key = self.keys.get(key_id)
        if key is None:
            return False
        if abs(int(self.clock() * 1000) - int(ts)) > self.skew_ms:
            return False
        return verify(key.public_key, sig, ts, method, path)

    def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == WS_PATH:
            if _header(request.headers, "Origin") is not None:
                # Production sits behind a CDN that answers 403 to an Origin header.
                return conn.respond(403, "Forbidden\n")
            if self.faults.refusing() or not self.authorized(request.headers, "GET", WS_PATH):
                self.refused += 1
                return conn.respond(401, "Unauthorized\n")
            return None  # go on with the upgrade
        if path == REST_PREFIX or path.startswith(REST_PREFIX + "/"):
            if self.faults.rest_down():
                return json_response(503, {"error": {"code": "service_unavailable", "message": "outage"}})
            return self.rest.handle(request)
        return json_response(404, {"error": {"code": "not_found", "message": "not found"}})

    # -- one connection ----------------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        key_id = _header(ws.request.headers, HEADER_KEY) if ws.request else None
        key = self.keys.get(key_id or "")
        client = Client(ws, key_id or "", key.account if key else False, self.hub)
        self.hub.connect(client)
        writer = asyncio.create_task(self._writer(client))
        pinger = asyncio.create_task(self._pinger(client))
        try:
            async for raw in ws:
                left = client.stalled()
                if left:
                    await asyncio.sleep(left)
                delay = self.faults.delay()
                if delay:
                    await asyncio.sleep(delay)
                if not self.faults.intercept(client, raw):
                    self.commands.handle(client, raw, reject=self.faults.rejecting())
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
            pinger.cancel()
            self.hub.disconnect(client)

    async def _writer(self, client: Client) -> None:
        ws = client.ws
        out = client.out
        try:
            while True:
                if not out:
                    client.wake.clear()
                    await client.wake.wait()
                    continue
                left = client.stalled()
                if left:
                    await asyncio.sleep(left)
                    continue
                batch = [out.popleft() for _ in range(min(len(out), WRITE_BATCH))]
                await _send_text_batch(ws, batch)
        except ConnectionClosed:
            pass

    async def _pinger(self, client: Client) -> None:
        ws = client.ws
        loop = asyncio.get_running_loop()
        try:
            while True:
                await asyncio.sleep(self.ping_interval)
                if client.stalled():
                    continue
                sent = loop.time()
                try:
                    waiter = await ws.ping(PING_PAYLOAD)
                except ConcurrencyError:
                    continue  # the last heartbeat is still unanswered (after a stall)
                try:
                    await asyncio.wait_for(asyncio.shield(waiter), self.ping_timeout)
                except TimeoutError:
                    if client.stalled_until > sent:
                        continue  # our own stall kept the pong from being read
                    log.info("dropping a client that did not answer the heartbeat")
                    client.abort()
                    return
        except ConnectionClosed:
            pass


def _text_frame_header(n: int) -> bytes:
    # RFC 6455 5.2: FIN + text opcode; a server's frames are never masked.
    if n < 126:
        return bytes((0x81, n))
    if n < 1 << 16:
        return b"\x81\x7e" + n.to_bytes(2, "big")
    return b"\x81\x7f" + n.to_bytes(8, "big")


async def _send_text_batch(ws: ServerConnection, frames: list[bytes]) -> None:
    """Write many text frames with one syscall.

    Going through ``send()`` costs a frame object, a serialization and a socket write per
    message: at tens of thousands of messages a second that is most of the simulator's
    time. Without extensions a server text frame is two header bytes and the payload, so
    the batch is framed here and written once. With permessage-deflate negotiated, the
    library must compress each frame: then its own send path is used.
    """
    protocol = ws.protocol
    transport = ws.transport
    if protocol.extensions or protocol.state is not State.OPEN or transport.is_closing():
        for frame in frames:
            await ws.send(frame, text=True)  # raises ConnectionClosed when it is closed
        return
    parts: list[bytes] = []
    for frame in frames:
        parts.append(_text_frame_header(len(frame)))
        parts.append(frame)
    transport.write(b"".join(parts))
    # Flow control with the transport's public API: a client that reads slowly makes the
    # queue grow behind this wait, until the hub ends its subscriptions with error 25.
    while transport.get_write_buffer_size() > HIGH_WATER and not transport.is_closing():
        await asyncio.sleep(0.002)
