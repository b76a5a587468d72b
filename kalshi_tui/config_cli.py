"""`kalshi-tui init` and `kalshi-tui config show`.

init writes one profile from flags (asking for what is missing when run in a terminal);
show prints the resolved profile. Neither ever reads out, prints or stores the private key:
only its path is kept, and the file is checked for existence and permissions.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kalshi_tui.config import (
    DEFAULT_PROFILE_NAME,
    ENDPOINTS,
    ENVIRONMENTS,
    REST_SCHEMES,
    WS_SCHEMES,
    ConfigError,
    Profile,
    check_path_text,
    config_path,
    display_path,
    load_config,
    rest_url_for,
    tickers_from_text,
    url_fix,
    url_problem,
    write_profile,
)
from kalshi_tui.errors import UserError, looks_like_key

Ask = Callable[[str], str]

# The group a watchlist typed at init's prompt goes into when it is given no name.
DEFAULT_WATCHLIST = "markets"


def init(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    existing = load_config(path)  # a broken file stops here rather than being overwritten
    interactive = not args.yes and sys.stdin.isatty()
    ask: Ask | None = input if interactive else None
    force = bool(getattr(args, "force", False))

    name = args.profile or _ask_name(ask, existing.default_profile or DEFAULT_PROFILE_NAME)
    base = existing.profiles.get(name)

    environment = _environment(args, base, ask)
    ws_url = args.ws_url or _kept_url(base, environment, "ws")
    rest_url = args.rest_url or _kept_url(base, environment, "rest")
    if environment == "custom":
        ws_url = ws_url or _ask_url(ask, "WebSocket URL", "ws://127.0.0.1:8765/trade-api/ws/v2", WS_SCHEMES)
        # A custom exchange serves REST beside its socket: wss://h/trade-api/ws/v2 -> https://h/trade-api/v2
        rest_default = rest_url_for(ws_url or "") or "http://127.0.0.1:8765/trade-api/v2"
        rest_url = rest_url or _ask_url(ask, "REST base URL", rest_default, REST_SCHEMES)

    key_id = args.key_id or (base.key_id if base else None)
    if key_id is None:
        key_id = _ask(ask, "API key id (Kalshi: Account > API keys)", None)
    key_file: Path | None = None
    if args.key_file:
        check_path_text(args.key_file, "--key-file")
        key_file = _absolute(args.key_file)
        if not force and not key_file.exists():
            raise UserError(
                f"--key-file {display_path(key_file)} does not exist: "
                "check the path, or pass --force to write the profile anyway"
            )
    elif base is not None:
        key_file = base.key_file
    if key_file is None:
        key_file = _ask_key_file(ask, force)

    watchlists = dict(base.watchlists) if base else {}
    for spec in args.watchlist:
        group, tickers = _parse_watchlist_flag(spec)
        watchlists[group] = tickers
    if not watchlists:
        watchlists = _ask_watchlist(ask)
    refresh_rate = (
        args.refresh_rate if args.refresh_rate is not None else (base.refresh_rate if base else None)
    )
    theme = getattr(args, "theme", None) or (base.theme if base else None)

    extra: dict[str, Any] = {}
    if refresh_rate is not None:
        extra["refresh_rate"] = refresh_rate
    if theme is not None:
        extra["theme"] = theme
    profile = Profile.create(
        name,
        environment,
        ws_url=ws_url,
        rest_url=rest_url,
        key_id=key_id or None,
        key_file=key_file,
        watchlists=watchlists,
        bindings=base.bindings if base else None,
        stream=base.stream if base else None,
        source=path,
        **extra,
    )
    config = write_profile(path, profile, make_default=args.default)

    default = " (default profile)" if config.default_profile == name else ""
    print(f"wrote profile {name!r}{default} to {display_path(path)}")
    problem = _credentials_warning(profile)
    if problem is None and profile.key_file is not None:
        problem = _key_load_problem(profile.key_file)
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    return 0


def _environment(args: argparse.Namespace, base: Profile | None, ask: Ask | None) -> str:
    """--env, else custom if a URL was given, else the profile's, else ask (default prod)."""
    urls = {"--ws-url": (args.ws_url, 0), "--rest-url": (args.rest_url, 1)}
    if args.env in ENDPOINTS:
        for option, (url, i) in urls.items():
            if url and url != ENDPOINTS[args.env][i]:
                # Kalshi's keys only ever go to Kalshi's URLs under prod/demo.
                raise UserError(
                    f"--env {args.env} uses Kalshi's own URLs, so {option} is refused: "
                    f"drop {option}, or use --env custom for another exchange"
                )
    if args.env:
        return str(args.env)
    if args.ws_url or args.rest_url:
        return "custom"  # a URL and no --env: the user means a custom endpoint
    if base is not None:
        return base.environment
    return _ask_choice(ask, "Environment", ENVIRONMENTS, "prod")


def _ask_name(ask: Ask | None, default: str) -> str:
    while True:
        answer = _ask(ask, "Profile name", default) or default
        if answer.strip() and not looks_like_key(answer):
            return answer.strip()
        print("please give the profile a name, e.g. main", file=sys.stderr)


def _ask_url(ask: Ask | None, question: str, default: str, schemes: tuple[str, ...]) -> str:
    while True:
        answer = _ask(ask, question, default) or default
        problem = url_problem(answer, schemes)
        if problem is None or ask is None:
            return answer  # without a terminal the profile's own check reports it
        print(f"that URL {problem}: {url_fix(schemes, default)}", file=sys.stderr)


def _ask_key_file(ask: Ask | None, force: bool) -> Path | None:
    while True:
        answer = _ask(ask, "Path to the private key file (PEM)", None)
        if not answer:
            return None
        if looks_like_key(answer):
            # Never echo it: the user pasted the key itself into the prompt.
            print(
                "that is key contents, not a path: save the key to a file (chmod 600) and give its "
                "path; treat the pasted key as exposed",
                file=sys.stderr,
            )
            continue
        path = _absolute(answer)
        if force or path.exists():
            return path
        print(f"no file at {display_path(path)}: give the key file's path (empty for none)", file=sys.stderr)


def _ask_watchlist(ask: Ask | None) -> dict[str, list[str]]:
    """A first watchlist: tickers, or NAME=tickers for a named group; empty for none."""
    while True:
        answer = _ask(
            ask,
            "Markets to watch, comma-separated (e.g. KXFED-26DEC-T4.00), or NAME=T1,T2; empty for none",
            None,
        )
        if not answer:
            return {}
        spec = answer if "=" in answer else f"{DEFAULT_WATCHLIST}={answer}"
        try:
            group, tickers = _parse_watchlist_flag(spec)
        except UserError as exc:
            print(str(exc).replace("--watchlist ", "", 1), file=sys.stderr)
            continue
        if tickers:
            return {group: tickers}
        print("please name at least one market, or leave it empty", file=sys.stderr)


def show(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    config = load_config(path)
    profile = config.profile(args.profile)
    is_default = profile.name == (config.default_profile or profile.name)
    print(f"# profile {profile.name!r}{' (default)' if is_default else ''} from {display_path(path)}")
    print(render_profile(profile), end="")
    problem = _credentials_warning(profile)
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    return 0


def _credentials_warning(profile: Profile) -> str | None:
    """What stops this profile from signing in, as the full one-line message, or None."""
    try:
        profile.check_key_file()
    except ConfigError as exc:
        return str(exc)
    return None


def render_profile(profile: Profile) -> str:
    """The resolved profile as TOML: every value in effect, defaults included."""
    import dataclasses

    import tomli_w

    doc: dict[str, Any] = {
        "environment": profile.environment,
        "ws_url": profile.ws_url,
        "rest_url": profile.rest_url,
    }
    # TOML has no null: unset credentials are left out (and show warns about them).
    if profile.key_id is not None:
        doc["key_id"] = profile.key_id
    if profile.key_file is not None:
        doc["key_file"] = display_path(profile.key_file)
    doc |= {
        "theme": profile.theme,
        "refresh_rate": profile.refresh_rate,
    }
    if profile.watchlists:
        doc["watchlists"] = {k: list(v) for k, v in profile.watchlists.items()}
    if profile.bindings:
        doc["bindings"] = dict(profile.bindings)
    doc["stream"] = {k: v for k, v in dataclasses.asdict(profile.stream).items() if v is not None}
    return tomli_w.dumps(doc)


# ---------------------------------------------------------------------------------------------


def _ask(ask: Ask | None, question: str, default: str | None) -> str | None:
    """One question on the terminal; without a terminal (or with --yes), the default."""
    if ask is None:
        return default
    suffix = f" [{default}]" if default else ""
    try:
        answer = ask(f"{question}{suffix}: ").strip()
    except EOFError:
        answer = ""
    return answer or default


def _ask_choice(ask: Ask | None, question: str, choices: tuple[str, ...], default: str) -> str:
    while True:
        answer = _ask(ask, f"{question} ({'/'.join(choices)})", default) or default
        if answer in choices:
            return answer
        print(f"please answer one of {', '.join(choices)}", file=sys.stderr)


def _kept_url(base: Profile | None, environment: str, kind: str) -> str | None:
    """The existing profile's URL override, kept only if it still applies."""
    if base is None or base.environment != environment:
        return None
    url = base.ws_url if kind == "ws" else base.rest_url
    defaults = ENDPOINTS.get(environment)
    if defaults is not None and url == defaults[0 if kind == "ws" else 1]:
        return None
    return url


def _absolute(text: str) -> Path:
    # Stored absolute: the path is relative to where init ran, not to the config file.
    return Path(os.path.abspath(Path(text).expanduser()))


def _parse_watchlist_flag(spec: str) -> tuple[str, list[str]]:
    group, sep, rest = spec.partition("=")
    group = group.strip()
    if not sep or not group:
        raise UserError(f"--watchlist {spec!r}: expected NAME=TICKER1,TICKER2")
    return group, tickers_from_text(rest)


def _key_load_problem(path: Path) -> str | None:
    """Check the file really holds an RSA key (encrypted keys are checked when used)."""
    from kalshi_tui.auth import KeyFileError, load_private_key

    try:
        if b"ENCRYPTED" in path.read_bytes():
            return None  # the passphrase is asked when connecting, never stored
        load_private_key(path)
    except KeyFileError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read key file {path}: {exc.strerror}"
    return None
