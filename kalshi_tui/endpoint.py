"""Where to connect and with which key: from command-line flags or a profile."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kalshi_tui.auth import KeyFileError, Signer, key_file_problem, load_private_key
from kalshi_tui.config import (
    ENDPOINTS,
    REST_SCHEMES,
    WS_SCHEMES,
    Profile,
    StreamSettings,
    check_path_text,
    check_url_option,
    config_path,
    load_config,
)
from kalshi_tui.errors import UserError

PASSPHRASE_ENV = "KALSHI_TUI_KEY_PASSPHRASE"


@dataclass(slots=True)
class Endpoint:
    ws_url: str
    rest_url: str | None
    signer: Signer
    markets: list[str] = field(default_factory=list)
    settings: StreamSettings = field(default_factory=StreamSettings)
    profile: Profile | None = None


def load_signer(key_id: str, key_file: Path, clock: Callable[[], float] = time.time) -> Signer:
    """Load the key, asking for a passphrase only if the file is encrypted. ``clock`` stamps
    the signatures (``check`` measures it against the exchange's)."""
    problem = key_file_problem(key_file)
    if problem:
        raise UserError(problem)
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        return Signer(key_id, load_private_key(key_file, passphrase), clock)
    except KeyFileError as exc:
        if "passphrase is needed" not in str(exc) or not sys.stdin.isatty():
            raise UserError(str(exc)) from None
    secret = getpass.getpass(f"Passphrase for {key_file}: ")
    try:
        return Signer(key_id, load_private_key(key_file, secret), clock)
    except KeyFileError as exc:
        raise UserError(str(exc)) from None


def resolve(args: argparse.Namespace) -> Endpoint:
    """Flags win; without --ws-url the profile (--profile, else the default) supplies all."""
    ws_url = getattr(args, "ws_url", None)
    rest_url = getattr(args, "rest_url", None)
    if ws_url:
        check_url_option(ws_url, "--ws-url", WS_SCHEMES, ENDPOINTS["prod"][0])
        if rest_url:
            check_url_option(rest_url, "--rest-url", REST_SCHEMES, ENDPOINTS["prod"][1])
        check_path_text(args.key_file or "", "--key-file")
        if not args.key_id or not args.key_file:
            raise UserError("--ws-url needs --key-id and --key-file too")
        signer = load_signer(args.key_id, Path(args.key_file).expanduser())
        return Endpoint(ws_url, rest_url, signer)
    profile = load_config(config_path(args.config)).profile(args.profile)
    key_file = profile.check_key_file()
    assert profile.key_id is not None  # check_key_file raised otherwise
    signer = load_signer(profile.key_id, key_file)
    return Endpoint(profile.ws_url, profile.rest_url, signer, list(profile.tickers), profile.stream, profile)
