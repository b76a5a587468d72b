"""Kalshi's WebSocket wire format: command builders, one decoder, error codes. No I/O."""

from kalshi_tui.protocol.codes import ERROR_CODES, RESUBSCRIBE_CODES, ErrorCode, describe
from kalshi_tui.protocol.decode import ProtocolError, decode, decode_obj
from kalshi_tui.protocol.messages import (
    AnyMessage,
    Error,
    Fill,
    Level,
    Lifecycle,
    MarketPosition,
    Message,
    Ok,
    OrderbookDelta,
    OrderbookSnapshot,
    Subscribed,
    Ticker,
    Trade,
    Unknown,
    Unsubscribed,
    UserOrder,
)

__all__ = [
    "ERROR_CODES",
    "RESUBSCRIBE_CODES",
    "AnyMessage",
    "Error",
    "ErrorCode",
    "Fill",
    "Level",
    "Lifecycle",
    "MarketPosition",
    "Message",
    "Ok",
    "OrderbookDelta",
    "OrderbookSnapshot",
    "ProtocolError",
    "Subscribed",
    "Ticker",
    "Trade",
    "Unknown",
    "Unsubscribed",
    "UserOrder",
    "decode",
    "decode_obj",
    "describe",
]
