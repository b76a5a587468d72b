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

_SIGNATURE = re.compile(r"(KALSHI-ACCESS-SIGNATURE['\"]?\s*[:=,]\s*['\"]?)[A-Za-z0-9+/=]+", re.I)


class RedactSignatures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "signature" in text.lower():
            record.msg = _SIGNATURE.sub(r"\1[redacted]", text)
            record.args = None
        return True


def setup_debug_log(path: str | os.PathLike[str]) -> Path:
    """Send every logger's debug output to ``path`` (created 0600, appended to)."""
    target = Path(path).expanduser()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    handler = logging.FileHandler(target, encoding="utf-8")
    handler.addFilter(RedactSignatures())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    return target
