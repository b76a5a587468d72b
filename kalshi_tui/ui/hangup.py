"""Leave cleanly when the terminal goes away (SSH drop, closed window).

Textual's input thread treats EOF on stdin as "no input" and keeps polling, so a
dashboard whose SSH session died would spin forever. We end the app instead: on SIGHUP
or SIGTERM, and when polling stdin reports a hang-up or error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import sys
from collections.abc import Callable

_GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL if hasattr(select, "poll") else 0


def stdin_gone(fd: int) -> bool:
    """True when the terminal behind ``fd`` has hung up. Reads nothing."""
    if not _GONE:
        return False
    poller = select.poll()
    poller.register(fd, _GONE)  # POLLIN not asked: the input thread owns the data
    try:
        return any(ev & _GONE for _, ev in poller.poll(0))
    except OSError:
        return True


def install(on_hangup: Callable[[], None]) -> Callable[[], bool]:
    """Route SIGHUP/SIGTERM to ``on_hangup``; return a check to call about once a second."""
    loop = asyncio.get_running_loop()
    for sig in (getattr(signal, "SIGHUP", None), signal.SIGTERM):
        if sig is None:
            continue
        # Not the main thread, or not supported here: the poll below still works.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_hangup)
    try:
        fd = sys.stdin.fileno()
        watch = os.isatty(fd)
    except (AttributeError, OSError, ValueError):
        fd, watch = -1, False

    def check() -> bool:
        if watch and stdin_gone(fd):
            on_hangup()
            return True
        return False

    return check
