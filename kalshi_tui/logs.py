"""Debug logging to a file, with signatures redacted.

Nothing is logged to the terminal (it belongs to the dashboard). websockets logs handshake
headers at debug level; the signature header is replaced before any record is written,
and the private key is never handed to a logger in the first place.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from kalshi_tui.config import check_path_text, display_path
from kalshi_tui.errors import UserError

_SIGNATURE = re.compile(r"(KALSHI-ACCESS-SIGNATURE['\"]?\s*[:=,]\s*['\"]?)[A-Za-z0-9+/=]+", re.I)


class RedactSignatures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "signature" in text.lower():
            record.msg = _SIGNATURE.sub(r"\1[redacted]", text)
            record.args = None
        return True


def setup_debug_log(path: str | os.PathLike[str]) -> Path:
    """Send every logger's debug output to ``path`` (created 0600, appended to).

    A path that can't be written is a UserError (one sentence), found before anything runs.
    """
    check_path_text(os.fspath(path), "--debug-log")
    target = Path(path).expanduser()
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if isinstance(exc, IsADirectoryError):
            fix = "name a file, not a folder"
        elif isinstance(exc, FileNotFoundError):
            fix = "create the folder first or name a file in an existing one"
        else:
            fix = "name a file you can write"
        raise UserError(
            f"--debug-log {display_path(target)}: cannot write the log ({reason}): {fix}"
        ) from None
    os.close(fd)
    handler = logging.FileHandler(target, encoding="utf-8")
    handler.addFilter(RedactSignatures())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    return target
