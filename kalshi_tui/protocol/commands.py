"""Command builders (client -> server). Ids are unique per connection, counted from 1."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import msgspec

CHANNEL_ORDERBOOK = "orderbook_delta"
CHANNEL_TICKER = "ticker"
CHANNEL_TRADE = "trade"
CHANNEL_FILL = "fill"
CHANNEL_POSITIONS = "market_positions"
CHANNEL_LIFECYCLE = "market_lifecycle_v2"
CHANNEL_ORDERS = "user_orders"
PUBLIC_CHANNELS = (CHANNEL_ORDERBOOK, CHANNEL_TICKER, CHANNEL_TRADE, CHANNEL_LIFECYCLE)
PRIVATE_CHANNELS = (CHANNEL_FILL, CHANNEL_POSITIONS, CHANNEL_ORDERS)
#: Channels whose subscription names markets (the others are account- or exchange-wide).
MARKET_CHANNELS = frozenset({CHANNEL_ORDERBOOK, CHANNEL_TICKER, CHANNEL_TRADE})

ADD_MARKETS = "add_markets"
DELETE_MARKETS = "delete_markets"
GET_SNAPSHOT = "get_snapshot"

_encode = msgspec.json.Encoder().encode


class CommandIds:
    """Per-connection command id counter (a new connection starts again at 1)."""

    def __init__(self) -> None:
        self._next = itertools.count(1)

    def __call__(self) -> int:
        return next(self._next)


def _command(cmd_id: int, cmd: str, params: dict[str, Any]) -> bytes:
    return _encode({"id": cmd_id, "cmd": cmd, "params": params})


def subscribe(
    cmd_id: int,
    channels: Iterable[str],
    markets: Iterable[str] = (),
    *,
    send_initial_snapshot: bool = False,
    skip_ticker_ack: bool = False,
    use_yes_price: bool = False,
) -> bytes:
    params: dict[str, Any] = {"channels": list(channels)}
    tickers = list(markets)
    if tickers:
        params["market_tickers"] = tickers
    if send_initial_snapshot:
        params["send_initial_snapshot"] = True
    if skip_ticker_ack:
        params["skip_ticker_ack"] = True
    if use_yes_price:
        params["use_yes_price"] = True
    return _command(cmd_id, "subscribe", params)


def unsubscribe(cmd_id: int, sids: Iterable[int]) -> bytes:
    return _command(cmd_id, "unsubscribe", {"sids": list(sids)})


def update_subscription(cmd_id: int, sid: int, action: str, markets: Iterable[str]) -> bytes:
    return _command(
        cmd_id, "update_subscription", {"sids": [sid], "action": action, "market_tickers": list(markets)}
    )


def list_subscriptions(cmd_id: int) -> bytes:
    return _command(cmd_id, "list_subscriptions", {})
