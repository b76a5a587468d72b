"""A program in a real pseudo-terminal: what an SSH session would carry.

``Terminal`` forks a child on a pty of a given size with ``TERM=xterm-256color``, reads
everything it writes (so it never blocks on a full pty buffer), counts bytes per time slice,
and reports the child's CPU and memory. Reading happens on a thread so the caller may sleep
or wait on it.

By default the pty is the child's controlling terminal, as under SSH: closing our side sends
it SIGHUP. With ``controlling=False`` it only has the pty as stdin/stdout/stderr (as under
some terminal multiplexers and service wrappers), so a hang-up shows only as a dead terminal.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import termios
import threading
import time
from collections.abc import Sequence

from bench.common import proc_cpu_seconds, proc_rss_mb


class Terminal:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        cols: int = 80,
        rows: int = 24,
        env: dict[str, str | None] | None = None,
        keep_text: int = 1 << 20,
        controlling: bool = True,
    ) -> None:
        self.argv = list(argv)
        self.cols, self.rows = cols, rows
        merged: dict[str, str | None] = {
            **os.environ,
            **(env or {}),
            "TERM": "xterm-256color",
            "COLUMNS": str(cols),
            "LINES": str(rows),
            "NO_COLOR": None,
        }
        self.env = {k: v for k, v in merged.items() if v is not None}  # None: unset it
        self.keep_text = keep_text
        self.controlling = controlling
        self.pid = -1
        self.fd = -1
        self.started = 0.0
        self.total = 0
        self.chunks: list[tuple[float, int]] = []  # (monotonic time, bytes) per read
        self._text = bytearray()  # the first ``keep_text`` bytes, to look for things in
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._reader: threading.Thread | None = None
        self._closed = False

    def start(self) -> Terminal:
        self.started = time.monotonic()
        if self.controlling:
            pid, fd = pty.fork()
        else:
            fd, slave = os.openpty()
            pid = os.fork()
            if pid == 0:
                os.close(fd)
                os.setsid()  # a session with no controlling terminal: dup2 does not give it one
                for target in (0, 1, 2):
                    os.dup2(slave, target)
                os.close(slave)
            else:
                os.close(slave)
        if pid == 0:  # child
            try:
                os.execvpe(self.argv[0], self.argv, self.env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.2)
                if not ready:
                    if self._closed:
                        return
                    continue
                data = os.read(self.fd, 65536)
            except OSError:
                data = b""
            now = time.monotonic()
            with self._cond:
                if not data:
                    self._closed = True
                    self._cond.notify_all()
                    return
                self.total += len(data)
                self.chunks.append((now, len(data)))
                if len(self._text) < self.keep_text:
                    self._text += data[: self.keep_text - len(self._text)]
                self._cond.notify_all()

    # -- reading ------------------------------------------------------------------------------

    def wait_for(self, needle: bytes, timeout: float) -> float | None:
        """Seconds from start until ``needle`` appeared in the output (None: it did not)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while needle not in self._text:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return None
                self._cond.wait(min(left, 0.05))
            # The chunk that completed the needle: find when it arrived.
            end = self._text.index(needle) + len(needle)
            seen = 0
            for t, n in self.chunks:
                seen += n
                if seen >= end:
                    return t - self.started
        return None

    def bytes_between(self, t0: float, t1: float) -> int:
        with self._lock:
            return sum(n for t, n in self.chunks if t0 <= t < t1)

    @property
    def text(self) -> bytes:
        with self._lock:
            return bytes(self._text)

    def cpu_seconds(self) -> float | None:
        return proc_cpu_seconds(self.pid)

    def rss_mb(self) -> float | None:
        return proc_rss_mb(self.pid)

    def close(self, timeout: float = 5.0) -> int | None:
        """Stop the child: SIGTERM, then SIGKILL. Returns its exit status if it ended."""
        status = None
        if self.pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.05)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                _, status = os.waitpid(self.pid, 0)
            self.pid = -1
        self._closed = True
        if self._reader is not None:
            self._reader.join(timeout=2)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        return status

    def __enter__(self) -> Terminal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
