"""The one wait (``bench.waiting.until``): no deadline but a hang guard of at least a minute."""

from __future__ import annotations

import asyncio

import pytest

from bench import waiting
from bench.waiting import GUARD, NeverHappened, until


async def test_until_returns_once_the_predicate_holds() -> None:
    calls = 0

    def third() -> bool:
        nonlocal calls
        calls += 1
        return calls >= 3

    await until(third, "the third call", step=0)
    assert calls == 3


async def test_an_async_predicate_is_awaited() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in (1, 2, 3):
        queue.put_nowait(n)

    async def three() -> bool:
        return await queue.get() == 3

    await until(three, "a 3 from the queue", step=0)
    assert queue.empty()


async def test_a_pilot_is_paused_between_polls() -> None:
    pauses: list[float | None] = []

    class Pilot:
        async def pause(self, delay: float | None = None) -> None:
            pauses.append(delay)

    await until(lambda: len(pauses) == 2, "two pauses", pilot=Pilot(), step=0.01)
    assert pauses == [0.01, 0.01]


async def test_no_guard_is_shorter_than_a_minute() -> None:
    assert GUARD >= 60
    with pytest.raises(ValueError, match="at least 60 s"):
        await until(lambda: True, "anything", guard=8.0)


async def test_the_guard_fails_with_a_sentence_naming_what(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "GUARD", 0.05)  # a minute is too long to wait in a test
    with pytest.raises(NeverHappened, match="the reconnecting badge: still not after"):
        await until(lambda: False, "the reconnecting badge", guard=0.05)


async def test_a_timeout_inside_the_predicate_is_not_called_the_guard() -> None:
    async def times_out() -> bool:
        raise TimeoutError

    with pytest.raises(TimeoutError) as info:
        await until(times_out, "never")
    assert not isinstance(info.value, NeverHappened)
