"""The dashboard in a real pseudo-terminal (``kalshi-tui demo``): signals and suspend/resume."""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.term import Terminal
from kalshi_tui.ui import hangup

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals and ptys")
LIVE = "¢".encode()  # a price on screen
GUARD = 60.0  # hang guard only


def wait_text(term: Terminal, needle: bytes, start: int = 0) -> bool:
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        if needle in term.text[start:]:
            return True
        time.sleep(0.05)
    return False


def wait_exit(term: Terminal) -> int:
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        done, status = os.waitpid(term.pid, os.WNOHANG)
        if done:
            term.pid = -1
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    raise AssertionError("the dashboard did not exit")


@contextmanager
def demo(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    log = tmp_path / "debug.log"
    argv = [sys.executable, "-m", "kalshi_tui", "--debug-log", str(log), "demo", "--rate", "20"]
    term = Terminal(argv, cols=100, rows=30, keep_text=1 << 26).start()
    try:
        assert term.wait_for(LIVE, GUARD) is not None, "the demo never showed a price"
        yield term, log
    finally:
        term.close()


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_term_and_hup_close_the_stream_then_exit_with_the_signal_status(
    tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    with demo(tmp_path) as (term, log):
        os.kill(term.pid, sig)
        assert wait_exit(term) == status
    out = term.text + log.read_bytes()
    assert b"never awaited" not in out
    # (The debug log may hold the simulator's own traceback of a handshake cut by the exit.)
    at = term.text.find(b"Traceback")
    assert at < 0, term.text[at : at + 3000].decode(errors="replace")
    assert b"> CLOSE 1000" in log.read_bytes(), "the stream was not closed"


def test_a_hung_up_terminal_closes_the_stream_and_exits_129(tmp_path: Path) -> None:
    with demo(tmp_path) as (term, log):
        os.close(term.fd)  # the SSH session is gone: the pty master closes
        term.fd = -1
        assert wait_exit(term) == 129
    assert b"> CLOSE 1000" in log.read_bytes(), "the stream was not closed"


def test_resume_after_ctrl_z_repaints_the_whole_screen(tmp_path: Path) -> None:
    with demo(tmp_path) as (term, _log):
        os.kill(term.pid, signal.SIGTSTP)
        wait_text(term, b"\x1b[?1049l")  # Textual has left the alternate screen
        mark = len(term.text)
        os.kill(term.pid, signal.SIGCONT)
        # Static parts (header title, tab labels, footer) come back without any keypress.
        for needle in (b"kalshi-tui", b"Watchlist", b"Connection", b"Palette"):
            assert wait_text(term, needle, mark), f"{needle!r} not repainted after resume"


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
