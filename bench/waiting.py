"""The one way tests and benchmarks wait for something to happen.

A wait has no deadline of its own: a slow machine (``-n 2`` on two loaded cores) only makes
it longer. The hang guard is there so a test that can never pass fails with a sentence
instead of stalling the run, and it is never shorter than ``GUARD`` seconds.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Protocol

#: the shortest hang guard any wait may have, in seconds
GUARD = 60.0


class NeverHappened(AssertionError):
    """The hang guard ran out: what was awaited did not happen."""


class Pausable(Protocol):
    """A Textual ``Pilot``: waiting through ``pause`` lets the app process its messages."""

    async def pause(self, delay: float | None = None) -> None: ...


async def until(
    predicate: Callable[[], object | Awaitable[object]],
    what: str,
    *,
    guard: float = GUARD,
    pilot: Pausable | None = None,
    step: float = 0.02,
) -> float:
    """Wait until ``predicate()`` is truthy; returns the seconds waited.

    ``predicate`` may be async (e.g. "read the next frame and check it"); the guard covers
    time spent inside it too. With ``pilot``, each poll waits with ``pilot.pause`` so a
    Textual app under ``run_test`` keeps drawing. Raises ``NeverHappened`` naming ``what``
    after ``guard`` seconds.
    """
    if guard < GUARD:
        raise ValueError(f"a hang guard of {guard} s is a deadline; it must be at least {GUARD:.0f} s")
    loop = asyncio.get_running_loop()
    start = loop.time()
    window = asyncio.timeout(guard)
    try:
        async with window:
            while True:
                got = predicate()
                if inspect.isawaitable(got):
                    got = await got
                if got:
                    return loop.time() - start
                if pilot is not None:
                    await pilot.pause(step)
                else:
                    await asyncio.sleep(step)
    except TimeoutError:
        if not window.expired():
            raise  # the predicate's own timeout: not ours to rename
        raise NeverHappened(f"{what}: still not after the {guard:.0f} s hang guard") from None
