"""Starting and leaving: profiles, the demo in a real terminal (a pty), SSH drops."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from bench.waiting import until
from kalshi_tui.config import ConfigError
from kalshi_tui.run import demo_watchlists, run_app

ROWS, COLS = 30, 100


def test_demo_groups_markets_by_series() -> None:
    tickers = [
        "KXFEDDECISION-26DEC-H0",
        "KXBTCD-26DEC0217-T99499.99",
        "KXHIGHNY-26DEC03-T45",
        "KXNBAGAME-26DEC01GSWBOS-GSW",
        "KXODD-1",
    ]
    groups = demo_watchlists(tickers)
    assert groups["all"] == tuple(tickers)
    assert groups["macro"] == ("KXFEDDECISION-26DEC-H0",)
    assert groups["crypto"] == ("KXBTCD-26DEC0217-T99499.99",)
    assert "KXODD-1" not in {t for name, g in groups.items() if name != "all" for t in g}


def _args(config: Path, profile: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(config=str(config), profile=profile, theme=None)


def test_no_profile_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no profiles yet"):
        run_app(_args(tmp_path / "config.toml"))


def test_a_missing_key_file_is_one_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.main]\nenvironment = "demo"\nkey_id = "abc"\nkey_file = "{tmp_path / "nope.pem"}"\n'
    )
    with pytest.raises(ConfigError, match="key_file"):
        run_app(_args(config))


def test_launch_and_cli_import_no_textual_until_the_app_starts() -> None:
    code = (
        "import sys, kalshi_tui.cli, kalshi_tui.run\n"
        "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class Terminal:
    """``kalshi-tui demo`` on a pseudo-terminal, as over SSH: we are the terminal."""

    def __init__(self, *argv: str) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "", "TZ": "UTC"}
        env.pop("TEXTUAL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kalshi_tui", "demo", "--rate", "100", "--markets", "8", *argv],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        os.close(slave)
        self.output = b""

    async def read_until(self, needle: bytes) -> None:
        """Wait until ``needle`` was drawn (fails at once if the app exits first)."""

        def drawn() -> bool:
            self.pump(0)
            if needle not in self.output and self.proc.poll() is not None:
                raise AssertionError(f"{needle!r} not drawn; tail: {self.output[-400:]!r}")
            return needle in self.output

        await until(drawn, f"{needle!r} drawn")

    def pump(self, wait: float) -> None:
        ready, _, _ = select.select([self.master], [], [], wait)
        if ready:
            with contextlib.suppress(OSError):  # EIO once the app has closed its side
                self.output += os.read(self.master, 65536)

    async def wait_exit(self) -> int:
        def gone() -> bool:
            if self.master >= 0:
                self.pump(0)
            return self.proc.poll() is not None

        try:
            await until(gone, "the app to exit")
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
async def test_demo_shows_prices_and_q_restores_the_terminal() -> None:
    term = Terminal()
    try:
        await term.read_until("¢".encode())
        assert b"\x1b[?1049h" in term.output  # full screen (alternate buffer)
        # A 256-colour terminal gets 256-colour codes, never 24-bit ones it can't show.
        assert b"38;5;" in term.output and b"38;2;" not in term.output
        os.write(term.master, b"q")
        assert await term.wait_exit() == 0
        # Quitting hands the terminal back: alternate screen off, cursor shown again.
        tail = term.output[term.output.rindex(b"\x1b[?1049h") :]
        assert b"\x1b[?1049l" in tail
        assert b"\x1b[?25h" in tail
    finally:
        term.close()


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
async def test_the_app_exits_when_the_terminal_goes_away() -> None:
    term = Terminal()
    try:
        await term.read_until("¢".encode())
        os.close(term.master)  # the SSH connection drops: the terminal is gone
        term.master = -1
        # Our hang-up handling ended it (129), rather than a crash or a spin until killed.
        assert await term.wait_exit() == 129
    finally:
        term.close()


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
async def test_the_app_exits_on_sighup() -> None:
    term = Terminal()
    try:
        await term.read_until("¢".encode())
        term.proc.send_signal(signal.SIGHUP)
        assert await term.wait_exit() == 129
    finally:
        term.close()
