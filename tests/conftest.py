"""Shared fixtures: a running simulator with a throwaway key, and a plain JSON client.

* ``sim``: a ``Simulator`` on 127.0.0.1, port 0, running (seed 7, 12 markets, 200 steps/s).
* ``make_sim(**kwargs)``: the same with your settings, as ``async with make_sim(...) as sim``.
* ``signer``: an ``auth.Signer`` for the simulator's key.
* ``ws_connect(sim, **kwargs)``: ``async with ws_connect(sim) as client`` gives a
  ``JsonClient`` over a plain ``websockets`` connection with signed headers.

One RSA key serves the whole session (generating one costs ~0.1 s); each simulator writes
it to its own 0600 temp file and deletes it on exit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import ClientConnection, connect

from bench.waiting import GUARD, until
from kalshi_tui.auth import Signer, generate_key
from kalshi_tui.sim import Simulator


@pytest.fixture(scope="session")
def sim_private_key() -> rsa.RSAPrivateKey:
    return generate_key()


@pytest.fixture
def make_sim(sim_private_key: rsa.RSAPrivateKey) -> Callable[..., Simulator]:
    def factory(**kwargs: Any) -> Simulator:
        kwargs.setdefault("private_key", sim_private_key)
        kwargs.setdefault("port", 0)
        return Simulator(**kwargs)

    return factory


@pytest.fixture
async def sim(make_sim: Callable[..., Simulator]) -> AsyncIterator[Simulator]:
    async with make_sim(seed=7, rate=200, markets=12) as s:
        yield s


@pytest.fixture
def signer(sim: Simulator) -> Signer:
    assert sim.signer is not None
    return sim.signer


class JsonClient:
    """Commands with ids from 1; every received frame kept raw and parsed, in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._next_id = 1
        self.raw: list[str] = []

    async def send(self, cmd: str, params: dict[str, Any] | None = None) -> int:
        cmd_id = self._next_id
        self._next_id += 1
        frame: dict[str, Any] = {"id": cmd_id, "cmd": cmd}
        if params is not None:
            frame["params"] = params
        await self.ws.send(json.dumps(frame))
        return cmd_id

    async def recv_raw(self, timeout: float = GUARD) -> str:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        text = raw if isinstance(raw, str) else raw.decode()
        self.raw.append(text)
        return text

    async def recv(self, timeout: float = GUARD) -> dict[str, Any]:
        return json.loads(await self.recv_raw(timeout))

    async def read_until(
        self, pred: Callable[[dict[str, Any]], bool], what: str
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Frames before the first one matching ``pred``, and that one."""
        seen: list[dict[str, Any]] = []

        async def matched() -> bool:
            frame = await self.recv()
            seen.append(frame)
            return pred(frame)

        await until(matched, what, step=0)
        return seen[:-1], seen[-1]

    async def answers(self, cmd_id: int, count: int = 1) -> list[dict[str, Any]]:
        """The next ``count`` frames carrying ``id == cmd_id`` (others are skipped)."""
        got: list[dict[str, Any]] = []
        while len(got) < count:
            _, frame = await self.read_until(
                lambda f: f.get("id") == cmd_id, f"answer {len(got) + 1} to {cmd_id}"
            )
            got.append(frame)
        return got

    async def sync(self) -> list[dict[str, Any]]:
        """Everything the server sent before now: answers leave in order, so the frames
        before a fresh list_subscriptions answer are all that was queued."""
        cmd_id = await self.send("list_subscriptions")
        seen, _ = await self.read_until(
            lambda f: f.get("id") == cmd_id and f.get("type") == "ok", "the list_subscriptions answer"
        )
        return seen


@pytest.fixture
def ws_connect() -> Callable[..., AbstractAsyncContextManager[JsonClient]]:
    @asynccontextmanager
    async def factory(
        sim: Simulator, signer: Signer | None = None, **kwargs: Any
    ) -> AsyncIterator[JsonClient]:
        s = signer or sim.signer
        assert s is not None
        kwargs.setdefault("compression", None)
        async with connect(sim.ws_url, additional_headers=s.headers(), **kwargs) as ws:
            yield JsonClient(ws)

    return factory
