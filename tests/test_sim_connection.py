"""The simulator's handshake and heartbeat: signed headers or 401, pings that say
``heartbeat``, and a client that stops answering them is dropped."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

from bench.waiting import GUARD, until
from kalshi_tui.auth import HEADER_KEY, HEADER_SIGNATURE, HEADER_TIMESTAMP, Signer, generate_key


async def _status(url: str, headers: dict[str, str]) -> int:
    """The handshake's HTTP status: 101 when the upgrade went through."""
    try:
        async with connect(url, additional_headers=headers, compression=None, open_timeout=GUARD):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def test_signed_handshake_is_accepted(sim, signer, ws_connect):
    assert await _status(sim.ws_url, signer.headers()) == 101
    async with ws_connect(sim) as c:
        await c.send("subscribe", {"channels": ["ticker"]})
        assert (await c.recv())["type"] == "subscribed"


async def test_bad_handshakes_get_401(sim, signer, sim_private_key):
    url = sim.ws_url
    other = Signer(sim.key_id, generate_key())  # right key id, wrong private key
    assert await _status(url, other.headers()) == 401
    unknown = Signer("no-such-key", sim_private_key)
    assert await _status(url, unknown.headers()) == 401
    stale = Signer(sim.key_id, sim_private_key, clock=lambda: time.time() - 60)
    assert await _status(url, stale.headers()) == 401
    early = Signer(sim.key_id, sim_private_key, clock=lambda: time.time() + 60)
    assert await _status(url, early.headers()) == 401
    skewed = Signer(sim.key_id, sim_private_key, clock=lambda: time.time() - 20)
    assert await _status(url, skewed.headers()) == 101  # inside the default ±30 s
    rest_signed = signer.headers("GET", "/trade-api/v2/portfolio/balance")
    assert await _status(url, rest_signed) == 401  # signed over another path
    for missing in (HEADER_KEY, HEADER_TIMESTAMP, HEADER_SIGNATURE):
        headers = signer.headers()
        del headers[missing]
        assert await _status(url, headers) == 401, missing
    headers = signer.headers()
    headers[HEADER_TIMESTAMP] = "soon"
    assert await _status(url, headers) == 401
    # Like production's CDN: an Origin header is refused even with a good signature.
    assert await _status(url, {**signer.headers(), "Origin": "http://localhost"}) == 403
    assert sim.server.refused == 9


async def test_skew_window_is_configurable(make_sim, sim_private_key):
    async with make_sim(markets=2, skew_ms=1000) as sim:
        late = Signer(sim.key_id, sim_private_key, clock=lambda: time.time() - 5)
        assert await _status(sim.ws_url, late.headers()) == 401
        assert await _status(sim.ws_url, sim.signer.headers()) == 101


class _PingRecorder(ClientConnection):
    """A plain client connection that also notes the pings it receives."""

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING:
            self.pings = [*getattr(self, "pings", []), bytes(event.data)]
        super().process_event(event)


async def test_heartbeat_pings_say_heartbeat(make_sim):
    async with (
        make_sim(markets=2, ping_interval=0.1, ping_timeout=20) as sim,  # answered late is fine
        connect(
            sim.ws_url,
            additional_headers=sim.signer.headers(),
            create_connection=_PingRecorder,
            compression=None,
            ping_interval=None,
        ) as ws,
    ):
        await until(lambda: len(getattr(ws, "pings", [])) >= 3, "three pings from the exchange")
        assert set(ws.pings) == {b"heartbeat"}  # type: ignore[attr-defined]
        assert sim.connections == 1  # the library answered every one


async def test_a_client_that_stops_answering_pings_is_dropped(make_sim):
    async with (
        make_sim(markets=2, ping_interval=0.1, ping_timeout=0.2) as sim,
        connect(
            sim.ws_url, additional_headers=sim.signer.headers(), compression=None, ping_interval=None
        ) as ws,
    ):
        await asyncio.sleep(0.3)
        assert sim.connections == 1
        ws.transport.pause_reading()  # pings pile up unread: no pongs go back
        async with asyncio.timeout(GUARD):
            while sim.connections:
                await asyncio.sleep(0.05)
        ws.transport.resume_reading()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), GUARD)
