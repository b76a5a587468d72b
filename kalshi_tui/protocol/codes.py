"""Kalshi WebSocket error codes: what each means to a person, and whether it is terminal.

Terminal means the subscription (or the request) is gone and will not recover by itself:
the client has to act (resubscribe, fix a parameter, back off).
"""

from __future__ import annotations

from typing import NamedTuple


class ErrorCode(NamedTuple):
    code: int
    name: str
    sentence: str
    terminal: bool


_TABLE = [
    (1, "unable_to_process", "The exchange could not process a command (bad JSON or types).", False),
    (2, "params_required", "A command was sent without its params.", False),
    (3, "channels_required", "A subscribe was sent without channels.", False),
    (4, "sids_required", "An unsubscribe was sent without subscription ids.", False),
    (5, "unknown_command", "The exchange does not know that command.", False),
    (6, "already_subscribed", "Already subscribed to that channel (older exchange servers).", False),
    (7, "unknown_sid", "The exchange does not know that subscription id.", False),
    (8, "unknown_channel", "The exchange does not know that channel name.", False),
    (9, "auth_required", "The exchange wants authentication for that channel.", True),
    (10, "channel_error", "The exchange ended a subscription with a channel error.", True),
    (11, "invalid_parameter", "A command parameter was invalid.", False),
    (12, "one_sid_required", "That command needs exactly one subscription id.", False),
    (13, "unsupported_action", "That action is not supported on this subscription.", False),
    (14, "market_ticker_required", "That command needs market tickers.", False),
    (15, "action_required", "update_subscription was sent without an action.", False),
    (16, "market_not_found", "The exchange has no market with that ticker.", False),
    (17, "internal_error", "The exchange had an internal error.", False),
    (18, "command_timeout", "The exchange timed out answering a command.", False),
    (19, "invalid_shard_factor", "Shard factor parameter invalid.", False),
    (20, "invalid_shard_key", "Shard key parameter invalid.", False),
    (21, "shard_key_out_of_range", "Shard key is out of range for the shard factor.", False),
    (22, "shard_params_mismatch", "Shard parameters do not match the subscription.", False),
    (25, "buffer_overflow", "The exchange dropped a subscription because it was read too slowly.", True),
    (26, "market_limit", "Too many markets on one subscription.", False),
    (27, "too_many_requests", "Too many commands on one subscription: slowing down.", False),
]

ERROR_CODES: dict[int, ErrorCode] = {row[0]: ErrorCode(*row) for row in _TABLE}

CHANNEL_ERROR = 10
BUFFER_OVERFLOW = 25
#: Codes after which the subscription is gone and must be made again.
RESUBSCRIBE_CODES = frozenset({CHANNEL_ERROR, BUFFER_OVERFLOW})


def describe(code: int) -> ErrorCode:
    """The entry for a code; unknown codes get a generic sentence rather than failing."""
    known = ERROR_CODES.get(code)
    if known is not None:
        return known
    return ErrorCode(code, "unknown", f"The exchange sent error code {code}.", False)
