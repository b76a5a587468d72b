"""Opening the socket: a signed WebSocket upgrade that never follows a redirect, and one
sentence for each way the exchange can refuse it."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from kalshi_tui.auth import Signer
from kalshi_tui.config import StreamSettings

MAX_MESSAGE = 64 * 1024 * 1024  # the exchange's documented frame limit


class CountingConnection(ClientConnection):
    """Counts the bytes read off the socket: once per TCP read, not per frame, and what the
    link carried (framing included, compressed when compressed). ``wake``, when set, is called
    on each read: a quiet session's timer waits on it instead of polling."""

    wire_bytes = 0
    wake: Callable[[], object] | None = None

    def data_received(self, data: bytes) -> None:
        self.wire_bytes += len(data)
        if self.wake is not None:
            self.wake()
        super().data_received(data)


class _NoRedirects(connect):
    """Kalshi never redirects its socket, and following a redirect would hand our signed
    KALSHI-ACCESS-* headers to another host: every redirect is refused."""

    def process_redirect(self, exc: Exception) -> Exception:
        return exc


def dial(url: str, signer: Signer, settings: StreamSettings, compression: str | None) -> _NoRedirects:
    """The upgrade, signed for ``url``'s path; await it for the connection."""
    return _NoRedirects(
        url,
        additional_headers=signer.headers("GET", urlsplit(url).path or "/"),
        compression=compression,
        max_size=MAX_MESSAGE,
        max_queue=4096,
        ping_interval=settings.dead_link_timeout / 2,
        ping_timeout=settings.dead_link_timeout / 2,
        # After an unanswered ping the peer is gone: don't wait the library's default 10 s
        # for it to answer our close frame too.
        close_timeout=min(2.0, settings.dead_link_timeout / 4),
        open_timeout=10,
        proxy=None,
        user_agent_header="kalshi-tui",
        create_connection=CountingConnection,
    )


class Refusal(NamedTuple):
    detail: str
    sentence: str
    key_refused: bool  # 401/403: the key, its environment or the clock is wrong
    clock_offset: float | None = None


def refusal(url: str, exc: InvalidStatus, signed_at: float) -> Refusal:
    """What to tell people about an upgrade answered with ``exc``'s HTTP status."""
    status, headers = exc.response.status_code, exc.response.headers
    if 300 <= status < 400:
        where = headers.get("Location") or "nowhere"
        sentence = f"The exchange redirected the connection to {where}: refused (Kalshi never does)."
        return Refusal(f"HTTP {status} to {where}", sentence, False)
    if status not in (401, 403):
        sentence = f"The exchange refused the connection (HTTP {status})."
        return Refusal(f"{url}: HTTP {status}", sentence, False)
    # Against the clock the handshake was signed with: that is the one the exchange judged.
    offset = clock_offset(headers.get("Date"), signed_at)
    skew = f" Local clock is {offset:+.1f} s off the exchange's." if offset is not None else ""
    sentence = (
        f"The exchange refused our key (HTTP {status}): check the key id, the key "
        f"file and that the key belongs to this environment.{skew}"
    )
    return Refusal(f"HTTP {status}", sentence, True, offset)


def clock_offset(date_header: str | None, now: float | None = None) -> float | None:
    """Server time minus local time (``now``, else the system clock), from an HTTP Date header."""
    try:
        server = email.utils.parsedate_to_datetime(date_header or "").timestamp()
    except (TypeError, ValueError):
        return None
    return server - (time.time() if now is None else now)
