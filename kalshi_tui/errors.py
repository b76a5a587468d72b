"""Errors that end a command with one clear line for the user (never a traceback), and the
test for what must never appear in one: pasted private-key text."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix: the message says what and how. Exit code 2 by default."""

    exit_code = 2


class AuthRejected(UserError):
    """The exchange refused our signed handshake (HTTP 401)."""

    exit_code = 3


def looks_like_key(text: str) -> bool:
    """True for text that is (part of) a PEM key rather than a path: it is never echoed."""
    return "PRIVATE KEY" in text or "-----BEGIN" in text or "\n" in text
