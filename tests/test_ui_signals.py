"""The dashboard in a real pseudo-terminal (``kalshi-tui demo``): quitting, signals, hang-ups,
suspend/resume."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bench.term import Terminal
from bench.waiting import until
from kalshi_tui.ui import hangup
from tests import ui_fixtures as fx

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals and ptys")
LIVE = "¢".encode()  # a price on screen


async def wait_text(term: Terminal, needle: bytes, start: int = 0) -> None:
    await until(lambda: needle in term.text[start:], f"{needle!r} drawn")


async def wait_exit(term: Terminal) -> int:
    """The dashboard's exit status, once it has left on its own."""
    status: list[int] = []

    def gone() -> bool:
        done, raw = os.waitpid(term.pid, os.WNOHANG)
        if done:
            term.pid = -1
            status.append(os.waitstatus_to_exitcode(raw))
        return bool(done)

    await until(gone, "the dashboard to exit")
    return status[0]


@asynccontextmanager
async def demo(tmp_path: Path, *, controlling: bool = True) -> AsyncIterator[tuple[Terminal, Path]]:
    log = tmp_path / "debug.log"
    argv = [sys.executable, "-m", "kalshi_tui", "--debug-log", str(log), "demo", "--rate", "20"]
    argv += ["--markets", "8"]
    env: dict[str, str | None] = {"TZ": "UTC", "COLORTERM": None, "TEXTUAL": None}
    term = Terminal(argv, cols=100, rows=30, env=env, keep_text=1 << 24, controlling=controlling).start()
    try:
        await wait_text(term, LIVE)
        yield term, log
    finally:
        term.close()


async def test_q_quits_and_restores_the_terminal(tmp_path: Path) -> None:
    async with demo(tmp_path) as (term, _log):
        assert b"\x1b[?1049h" in term.text  # full screen (alternate buffer)
        # A 256-colour terminal gets 256-colour codes, never 24-bit ones it can't show.
        assert b"38;5;" in term.text and b"38;2;" not in term.text
        os.write(term.fd, b"q")
        assert await wait_exit(term) == 0
        # Quitting hands the terminal back: alternate screen off, cursor shown again.
        await wait_text(term, b"\x1b[?25h", term.text.rindex(b"\x1b[?1049h"))
        tail = term.text[term.text.rindex(b"\x1b[?1049h") :]
        assert b"\x1b[?1049l" in tail


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
async def test_term_and_hup_close_the_stream_then_exit_with_the_signal_status(
    tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    async with demo(tmp_path) as (term, log):
        os.kill(term.pid, sig)
        assert await wait_exit(term) == status
    out = term.text + log.read_bytes()
    assert b"never awaited" not in out
    # (The debug log may hold the simulator's own traceback of a handshake cut by the exit.)
    at = term.text.find(b"Traceback")
    assert at < 0, term.text[at : at + 3000].decode(errors="replace")
    assert b"> CLOSE 1000" in log.read_bytes(), "the stream was not closed"


@pytest.mark.parametrize("controlling", [True, False], ids=["sighup", "dead-terminal"])
async def test_a_hung_up_terminal_closes_the_stream_and_exits_129(tmp_path: Path, controlling: bool) -> None:
    # With a controlling terminal the kernel sends SIGHUP; without one, only the terminal's
    # death tells: our once-a-second check, or Textual's input thread failing with EIO.
    async with demo(tmp_path, controlling=controlling) as (term, log):
        os.close(term.fd)  # the SSH session is gone: the pty master closes
        term.fd = -1
        assert await wait_exit(term) == 129
    assert b"> CLOSE 1000" in log.read_bytes(), "the stream was not closed"


async def test_resume_after_ctrl_z_repaints_the_whole_screen(tmp_path: Path) -> None:
    async with demo(tmp_path) as (term, _log):
        os.kill(term.pid, signal.SIGTSTP)
        await wait_text(term, b"\x1b[?1049l")  # Textual has left the alternate screen
        mark = len(term.text)
        os.kill(term.pid, signal.SIGCONT)
        # Static parts (header title, tab labels, footer) come back without any keypress.
        for needle in (b"kalshi-tui", b"Watchlist", b"Connection", b"Palette"):
            await wait_text(term, needle, mark)


@pytest.mark.skipif(sys.platform != "linux", reason="Linux answers EIO for a pty whose other end closed")
async def test_an_input_read_failing_with_eio_is_a_hang_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.drivers.linux_driver import LinuxDriver

    app = fx.make_app()
    async with app.run_test(size=(80, 24)):
        driver_class = app.get_driver_class()
        assert issubclass(driver_class, LinuxDriver)
        # A driver installs ctrl+z handlers when built; this one only reads, so keep ours.
        monkeypatch.setattr(signal, "signal", lambda *_args: None)
        driver = driver_class(app)
        master, slave = os.openpty()
        os.close(slave)  # reading the master of a pty whose other end has gone fails with EIO
        driver.fileno = master
        try:
            # Without the guard this raises in the thread, and Textual would panic.
            await asyncio.to_thread(driver.run_input_thread)
        finally:
            os.close(master)
        await until(lambda: app.return_code is not None, "the app to leave")
    assert app.return_code == hangup.EXIT_HUP


class MacPoll:
    """poll(2) as macOS answers it for a terminal device: POLLNVAL, healthy or not."""

    def __init__(self) -> None:
        self.fds: list[int] = []

    def register(self, fd: int, _mask: int = 0) -> None:
        self.fds.append(fd)

    def poll(self, _timeout: float | None = None) -> list[tuple[int, int]]:
        return [(fd, select.POLLNVAL) for fd in self.fds]


def test_hangup_check_tells_a_healthy_pty_from_a_hung_up_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(select, "poll", MacPoll, raising=False)  # as on macOS
    master, slave = os.openpty()
    try:
        assert not hangup.stdin_gone(slave), "a healthy terminal was taken as hung up"
        os.close(master)
        master = -1
        assert hangup.stdin_gone(slave)
    finally:
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)
