"""Getting a fired alert to the user: terminal escapes and the user's own command.

The bell and the OSC 9 / OSC 777 desktop notifications are plain bytes on the terminal, so
they travel over SSH to the user's own terminal emulator (iTerm2, WezTerm, kitty, foot,
Windows Terminal, ... show them). Inside tmux they need passthrough (``set -g
allow-passthrough on``); with ``$TMUX`` set they are wrapped for it.

The user's command gets the alert as one JSON object on stdin (the same object ``kalshi-tui
alerts`` prints; never the key), runs without a shell, off the event loop, and its failure
is a sentence for the caller to show, never an exception.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex

from kalshi_tui.alerts import Alert

BEL = "\a"
COMMAND_TIMEOUT = 10.0  # s: a hung notifier is killed, and said so


def _clean(text: str, limit: int = 200) -> str:
    """No control characters (an ESC or BEL would end the sequence early) and no ';'
    (OSC 777's field separator); short enough for a notification."""
    out = "".join(" " if ord(c) < 32 or ord(c) == 127 or c == ";" else c for c in text)
    return out[:limit]


def desktop_sequences(alert: Alert, *, tmux: bool | None = None) -> str:
    """The bell, then OSC 9 and OSC 777 notifications for ``alert``: terminals that know one
    of the two show it, and ignore the other."""
    if tmux is None:
        tmux = bool(os.environ.get("TMUX"))
    title = _clean(alert.title, 60)
    body = _clean(alert.message)
    seqs = [f"\x1b]9;{title}: {body}\a", f"\x1b]777;notify;{title};{body}\a"]
    if tmux:
        # tmux passes a DCS "tmux;" sequence through, with each ESC inside it doubled.
        seqs = ["\x1bPtmux;" + s.replace("\x1b", "\x1b\x1b") + "\x1b\\" for s in seqs]
    return BEL + "".join(seqs)


def alert_line(alert: Alert) -> bytes:
    """One JSON line: what ``kalshi-tui alerts`` prints and the command reads."""
    return (json.dumps(alert.to_json(), ensure_ascii=False) + "\n").encode()


async def run_command(command: str, alert: Alert, timeout: float = COMMAND_TIMEOUT) -> str | None:
    """Run ``command`` with the alert on stdin. None if it exited 0, else why not (a sentence)."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return f"alert_command is not a command line ({exc})"
    if not argv:
        return "alert_command is empty"
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        return f"alert command {argv[0]!r} was not found"
    except OSError as exc:
        return f"alert command {argv[0]!r} could not start ({exc.strerror or exc})"
    try:
        _, err = await asyncio.wait_for(proc.communicate(alert_line(alert)), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return f"alert command {argv[0]!r} took over {timeout:g} s and was stopped"
    if proc.returncode:
        first = err.decode("utf-8", "replace").strip().splitlines()[:1]
        why = f": {first[0][:200]}" if first else ""
        return f"alert command {argv[0]!r} exited with {proc.returncode}{why}"
    return None
