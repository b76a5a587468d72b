"""``--record PATH``: every frame of the stream, both ways, as compressed JSON lines.

The file is zstd (``zstdcat`` reads it), or gzip when ``PATH`` ends in ``.gz``: zstd level 1
costs about a third of the CPU of gzip's fastest level and writes half the bytes, which is
what keeps recording a 20k frames/s firehose within a few % of a core.

Each line is ``{"t_ns", "conn", "dir", "frame"}``: ``dir`` is ``recv`` or ``send`` (the frame
as text, byte for byte), ``open`` / ``close`` (a connection's socket opened or closed), or
``checkpoint`` (``frame`` holds every book and each connection's subscriptions, so a file
replays on its own). Only frames are written: never the key, a signature or a header.

The event loop only appends ``(t_ns, conn, dir, frame)`` to a bounded deque; a writer thread
encodes and compresses. When the file passes ``max_bytes`` it is closed and shifted to
``PATH.1`` (``PATH.1`` to ``PATH.2``…, keeping ``keep`` old files) and a new ``PATH`` starts
with a fresh checkpoint. When the deque is full (the disk can't keep up), frames are dropped
and counted, and the next file starts once there is room, again with a checkpoint: a file
with a hole would not replay to the right books.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import msgspec
import zstandard

RECV, SEND, OPEN, CLOSE, CHECKPOINT = "recv", "send", "open", "close", "checkpoint"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_KEEP = 5
DEFAULT_QUEUE = 200_000  # frames: about 10 s of a 20k/s firehose
_ROTATE = object()  # queue marker: close this file and start the next one
_now_ns = time.time_ns


class _Line(msgspec.Struct, gc=False):
    """One line of the file (field order is the line's)."""

    t_ns: int
    conn: int
    dir: str
    frame: Any


_encode_lines = msgspec.json.Encoder().encode_lines


class _Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self) -> bytes: ...


class _CompressedOut:
    """One file written through one compression stream, at its fastest level: zstd, or gzip
    through zlib (which keeps the CRC itself, unlike GzipFile's second pass in Python)."""

    def __init__(self, path: Path) -> None:
        self.z: _Compressor = (
            zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
            if path.name.endswith(".gz")
            else zstandard.ZstdCompressor(level=1).compressobj()
        )
        self.fh = open(path, "wb")  # noqa: SIM115 - closed by close()

    def write(self, data: bytes) -> None:
        self.fh.write(self.z.compress(data))

    def size(self) -> int:
        return self.fh.tell()

    def close(self) -> None:
        if not self.fh.closed:
            self.fh.write(self.z.flush())
            self.fh.close()


class Recorder:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        keep: int = DEFAULT_KEEP,
        queue_size: int = DEFAULT_QUEUE,
    ) -> None:
        self.path = Path(path)
        self.max_bytes, self.keep, self.queue_size = max_bytes, keep, queue_size
        # What the checkpoint holds (set by the Pool that owns the sessions).
        self.checkpoint: Callable[[], dict[str, Any]] = dict
        self.dropped = 0
        self.files = 0  # files started
        self.error: str | None = None
        self._q: collections.deque[Any] = collections.deque()
        self._wake = threading.Event()
        self._stop = False
        self._full = False  # frames were dropped: the next file must start afresh
        self._rotate = False  # set by the writer when the file is big enough
        self._thread = threading.Thread(target=self._write_loop, name="kalshi-recorder", daemon=True)
        self._started = False

    # -- the event loop's side (cheap: one append per frame) ---------------------------------

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._q.append((time.time_ns(), -1, CHECKPOINT, self.checkpoint()))
            self._thread.start()

    def recv(self, conn: int, frame: str | bytes) -> None:
        """One received frame: the per-frame path, so ``put`` is inlined for the common case."""
        q = self._q
        if self._rotate or self._full or len(q) >= self.queue_size:
            self.put(conn, RECV, frame)
        else:
            q.append((_now_ns(), conn, RECV, frame))

    def put(self, conn: int, direction: str, frame: Any = None) -> None:
        q = self._q
        if self._rotate or self._full:
            if len(q) >= self.queue_size // 2:
                self.dropped += 1
                return
            self._rotate = self._full = False
            q.append(_ROTATE)
            q.append((time.time_ns(), -1, CHECKPOINT, self.checkpoint()))
        if len(q) >= self.queue_size:
            self.dropped += 1
            self._full = True
            return
        q.append((time.time_ns(), conn, direction, frame))

    def summary(self) -> str | None:
        """One sentence for stderr at exit when the recording is not whole, else None."""
        if self.error:
            return self.error
        if self.dropped:
            return f"the disk fell behind: {self.dropped} frames were not recorded (each later file is whole)"
        return None

    def close(self) -> None:
        """Write what is queued, close the file, stop the thread."""
        if not self._started or self._stop:
            return
        self._stop = True
        self._wake.set()
        self._thread.join()

    # -- the writer thread -------------------------------------------------------------------

    def _open(self) -> _CompressedOut:
        self.files += 1
        return _CompressedOut(self.path)

    def _shift(self) -> None:
        for n in range(self.keep, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if n == self.keep:
                older.unlink(missing_ok=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    older.rename(self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.keep > 0:
            self.path.rename(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)

    def _write_loop(self) -> None:
        try:
            out = self._open()
        except OSError as exc:
            self.error = f"cannot record to {self.path}: {exc.strerror or exc}"
            self._q.clear()
            return
        q, popleft = self._q, self._q.popleft
        asked = False  # a rotation was asked for and its marker has not come yet
        try:
            while True:
                stopping = self._stop
                lines: list[_Line] = []
                while q:
                    item = popleft()
                    if item is _ROTATE:
                        out.write(_encode_lines(lines))
                        lines = []
                        out.close()
                        self._shift()
                        out = self._open()
                        asked = False
                        continue
                    t_ns, conn, direction, frame = item
                    if type(frame) is bytes:
                        frame = frame.decode("utf-8", "replace")
                    lines.append(_Line(t_ns, conn, direction, frame))
                    if len(lines) >= 4096:
                        out.write(_encode_lines(lines))
                        lines = []
                if lines:
                    out.write(_encode_lines(lines))
                if stopping:
                    break
                if not asked and out.size() >= self.max_bytes:
                    asked = self._rotate = True
                self._wake.wait(0.05)
        except OSError as exc:
            self.error = f"recording to {self.path} failed: {exc.strerror or exc}"
        finally:
            with contextlib.suppress(OSError):
                out.close()
