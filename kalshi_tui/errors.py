"""Errors that end a command with one clear line for the user (never a traceback)."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix: the message says what and how. Exit code 2 by default."""

    exit_code = 2


class AuthRejected(UserError):
    """The exchange refused our signed handshake (HTTP 401)."""

    exit_code = 3
