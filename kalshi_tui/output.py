"""Writing a command's output like a good Unix citizen (``tail``, ``export``).

The output goes to file descriptor 1 from a thread, so a reader that stops reading never
stalls the event loop; a reader that goes away (``| head -1``) is a normal end
(``OutputClosed``); a failed write (``> /dev/full``) is one sentence and exit 5
(``OutputFailed``), after which stdout is pointed at /dev/null so the interpreter's own
final flush cannot print a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import select
import signal
import stat
import threading

from kalshi_tui.errors import UserError

STDOUT = 1  # the descriptor, not sys.stdout: that is None when a command starts with fd 1 closed
EXIT_OUTPUT = 5


class OutputClosed(Exception):
    """The reader of stdout went away (a broken pipe): a normal way for a command to end."""


class OutputFailed(UserError):
    """The output could not be written (e.g. a full disk): one sentence, exit 5."""

    exit_code = EXIT_OUTPUT


class Writer:
    """Writes to a file descriptor from one daemon thread. A blocked pipe blocks only that
    thread: never the event loop that reads the socket, and never the process's exit."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._loop = asyncio.get_running_loop()
        self._jobs: queue.SimpleQueue[tuple[bytes, asyncio.Future[OSError | None]]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="kalshi-writer", daemon=True).start()

    def _run(self) -> None:
        while True:
            data, done = self._jobs.get()
            error: OSError | None = None
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self.fd, view) :]
            except OSError as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                self._loop.call_soon_threadsafe(_settle, done, error)

    async def write(self, data: bytes) -> None:
        done: asyncio.Future[OSError | None] = self._loop.create_future()
        self._jobs.put((data, done))
        error = await done
        if isinstance(error, BrokenPipeError):
            raise OutputClosed
        if error is not None:
            raise OutputFailed(f"cannot write the output: {error.strerror or error}")

    def reader_gone(self) -> bool:
        """True when stdout is a pipe whose reader has closed it (seen without writing, so
        ``tail ... | head -1`` ends even when the stream is quiet)."""
        try:
            if not stat.S_ISFIFO(os.fstat(self.fd).st_mode) or not hasattr(select, "poll"):
                return False
            poller = select.poll()
            poller.register(self.fd, 0)  # errors and hang-ups are always reported
            return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
        except (OSError, ValueError):
            return False


def _settle(done: asyncio.Future[OSError | None], error: OSError | None) -> None:
    if not done.done():
        done.set_result(error)


def retire_stdout() -> None:
    """After stdout failed, point it at /dev/null so the interpreter's final flush of
    ``sys.stdout`` cannot fail (or print a traceback) again."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, STDOUT)
        os.close(devnull)


def stop_event(duration: float | None) -> asyncio.Event:
    """An event set by SIGINT/SIGTERM (a clean stop for a headless command) or, if given,
    after ``duration`` seconds. Call it from the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    return stop
