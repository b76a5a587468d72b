"""Leave cleanly when the terminal goes away (SSH drop, closed window) or we are told to.

Textual's input thread treats EOF on stdin as "no input" and keeps polling, so a
dashboard whose SSH session died would spin forever. We end the app instead: on SIGHUP
or SIGTERM, and when stdin's terminal has hung up.

The check asks the terminal for its settings (``tcgetattr``): a healthy terminal answers,
a hung-up one fails with EIO. That works on Linux and macOS alike; ``poll(2)`` does not
(macOS's poll answers POLLNVAL for every terminal device, which would read as "gone"),
and reading stdin would steal keys from Textual's input thread.

Textual's input thread reads stdin itself, and on Linux a read from a terminal that has just
hung up may fail with EIO instead of returning EOF. Textual takes that for a crash (a panic
with a traceback, on a terminal nobody can see); ``hangup_aware`` makes the driver report it
as the hang-up it is, with ``TerminalHungUp``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import signal
import sys
from collections.abc import Callable

from textual.driver import Driver
from textual.message import Message

try:
    import termios
except ImportError:  # Windows: no terminal to ask; the signals still work where they exist
    termios = None  # type: ignore[assignment]

#: exit status per signal, as a shell reports a process killed by it (128 + number)
EXIT_HUP = 129
EXIT_TERM = 143


def stdin_gone(fd: int) -> bool:
    """True when the terminal behind ``fd`` has hung up. Reads nothing."""
    if termios is None:
        return False
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError):
        return True
    return False


def stdin_is_tty() -> bool:
    try:
        return os.isatty(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def install(on_exit: Callable[[int], None]) -> Callable[[], bool]:
    """Route SIGHUP/SIGTERM to ``on_exit(status)``; return a check to call about once a
    second, which calls ``on_exit(129)`` when the terminal has hung up."""
    loop = asyncio.get_running_loop()
    for name, status in (("SIGHUP", EXIT_HUP), ("SIGTERM", EXIT_TERM)):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        # Not the main thread, or not supported here: the check below still works.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_exit, status)
    watch = stdin_is_tty()
    fd = sys.stdin.fileno() if watch else -1

    def check() -> bool:
        if watch and stdin_gone(fd):
            on_exit(EXIT_HUP)
            return True
        return False

    return check


class TerminalHungUp(Message):
    """Textual's input thread found the terminal gone (its read failed with EIO)."""


def hangup_aware(driver: type[Driver]) -> type[Driver]:
    """``driver``, made to post ``TerminalHungUp`` to the app when its input thread's read
    fails because the terminal hung up. Drivers other than Linux's are returned as they are."""
    try:
        from textual.drivers.linux_driver import LinuxDriver
    except ImportError:  # no termios (Windows)
        return driver
    return _hangup_aware_linux(driver) if issubclass(driver, LinuxDriver) else driver


@functools.cache
def _hangup_aware_linux(base: type[Driver]) -> type[Driver]:
    class HangupAwareDriver(base):  # type: ignore[valid-type,misc]
        def run_input_thread(self) -> None:
            try:
                super().run_input_thread()
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                self._app.post_message(TerminalHungUp())  # thread-safe in Textual

    return HangupAwareDriver
