"""The network side: authenticated WebSocket sessions, a pool of them, recovery."""

from kalshi_tui.stream.buffer import EventBuffer
from kalshi_tui.stream.pool import DEFAULT_CHANNELS, Pool
from kalshi_tui.stream.session import Session, Sub

__all__ = ["DEFAULT_CHANNELS", "EventBuffer", "Pool", "Session", "Sub"]
