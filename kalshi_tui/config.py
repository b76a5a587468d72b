"""Settings: named profiles in one TOML file.

``config.toml`` lives in the platform config dir (``platformdirs.user_config_dir("kalshi-tui")``)
unless ``--config`` or ``$KALSHI_TUI_CONFIG`` names another file::

    default_profile = "main"

    [profiles.main]
    environment = "prod"              # prod | demo | custom (custom needs ws_url and rest_url)
    key_id = "a952bcbe-..."
    key_file = "~/.kalshi/key.pem"    # a path: the key itself never goes in this file
    theme = "kalshi-dark"
    refresh_rate = 10.0               # screen updates per second, 0 < r <= 60
    flash = true                      # flash changed prices (false: less output over SSH)
    timezone = "local"                # times in the details view: "local" or "US/Eastern" (Kalshi's)

    [profiles.main.watchlists]        # named groups of market tickers (tabs), order kept
    elections = ["PRES-2028-DEM", "PRES-2028-REP"]

    [profiles.main.bindings]          # optional key remaps: action id -> key
    quit = "ctrl+q"

    [profiles.main.stream]            # optional; see StreamSettings
    backoff_cap = 60.0
    record = "~/kalshi/stream.jsonl.zst"  # record every frame (as --record); record_max_mb, record_keep

    [profiles.main.rest]              # optional; see RestSettings
    reads_per_second = 20.0

    [[profiles.main.alerts]]          # alert rules, one table each (see kalshi_tui.alerts)
    market = "PRES-2028-DEM"
    when = "bid_above"
    price = "0.55"

Reading is strict: every problem raises :class:`ConfigError`, a one-line message naming the file,
the dotted setting and the fix. Unknown settings are errors too, so a typo never passes silently.
Writing is atomic (temp file + fsync + rename, mode 0600): a crash, a full disk or a read-only
folder leaves the old file intact. Changing an existing file (a watchlist edit from the app, a
second ``init``) edits it in place with tomlkit, so the user's comments, order and spacing stay;
a new file is written with tomli-w.

No I/O happens at import, and neither Textual nor cryptography is imported here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import errno
import math
import os
import re
import shlex
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from kalshi_tui.alerts import Rule, RuleError, parse_rule, rule_to_toml
from kalshi_tui.errors import UserError, looks_like_key

ENV_VAR = "KALSHI_TUI_CONFIG"
APP_NAME = "kalshi-tui"
FILE_NAME = "config.toml"

DEFAULT_PROFILE_NAME = "main"
DEFAULT_THEME = "kalshi-dark"
DEFAULT_REFRESH_RATE = 10.0
MAX_REFRESH_RATE = 60.0
#: where the app shows times: the machine's zone, or Kalshi's own (daily candles close at midnight there)
TIMEZONES = ("local", "US/Eastern")

# environment -> (WebSocket URL, REST base URL)
ENDPOINTS: dict[str, tuple[str, str]] = {
    "prod": (
        "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
        "https://external-api.kalshi.com/trade-api/v2",
    ),
    "demo": (
        "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
        "https://external-api.demo.kalshi.co/trade-api/v2",
    ),
}
ENVIRONMENTS = ("prod", "demo", "custom")
WS_SCHEMES = ("ws", "wss")
REST_SCHEMES = ("http", "https")

_TOP_KEYS = ("default_profile", "profiles")
_PROFILE_KEYS = (
    "environment",
    "ws_url",
    "rest_url",
    "key_id",
    "key_file",
    "theme",
    "refresh_rate",
    "flash",
    "timezone",
    "watchlists",
    "bindings",
    "stream",
    "rest",
    "alerts",
    "alert_command",
)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class ConfigError(UserError):
    """A setting is wrong. ``str()`` is one line: file, dotted setting, what is wrong, the fix."""

    def __init__(self, path: Path | str | None, setting: str, problem: str, fix: str) -> None:
        self.path = Path(path) if path is not None else None
        self.setting = setting
        self.problem = problem
        self.fix = fix
        where = f"{display_path(self.path)}: " if self.path is not None else ""
        text = f"{where}{problem}: {fix}"
        # One line, always: the CLI prints this as is.
        super().__init__(text.replace("\r", " ").replace("\n", " "))


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """Tuning of the WebSocket stream ([profiles.NAME.stream])."""

    backoff_base: float = 0.5  # s, first reconnect delay (before full jitter)
    backoff_cap: float = 30.0  # s, longest reconnect delay
    stable_after: float = 30.0  # s connected before the backoff resets
    dead_link_timeout: float = 25.0  # s of silence (no frame, no ping) = dead link
    markets_per_subscription: int = 500  # shard big watchlists over subscriptions...
    subscriptions_per_connection: int = 10  # ...and connections
    commands_per_second: float = 10.0  # command rate per subscription
    buffer_size: int = 10_000  # frames between socket reader and store
    subscribe_timeout: float = 10.0  # s to wait for a subscribe's answer before retrying it
    record: str | None = None  # record every frame to this file (``--record``), zstd JSON lines
    record_max_mb: float = 64.0  # a recording file past this size starts the next one...
    record_keep: int = 5  # ...keeping this many old ones (PATH.1 ... PATH.N)


@dataclass(frozen=True, slots=True)
class RestSettings:
    """The REST budget ([profiles.NAME.rest]): every REST call shares it."""

    reads_per_second: float = 20.0  # Kalshi's Basic tier; raise it for Advanced (30) and up
    metadata_ttl: float = 3600.0  # s an event, its metadata or a series is reused before refetching


# name -> (type, smallest allowed value, is that smallest value itself allowed)
_REST_RULES: dict[str, tuple[type, float, bool]] = {
    "reads_per_second": (float, 0, False),
    "metadata_ttl": (float, 0, True),
}

# name -> (type, smallest allowed value, is that smallest value itself allowed)
_STREAM_RULES: dict[str, tuple[type, float, bool]] = {
    "backoff_base": (float, 0, False),
    "backoff_cap": (float, 0, False),
    "stable_after": (float, 0, True),
    "dead_link_timeout": (float, 0, False),
    "markets_per_subscription": (int, 1, True),
    "subscriptions_per_connection": (int, 1, True),
    "commands_per_second": (float, 0, False),
    "buffer_size": (int, 1, True),
    "subscribe_timeout": (float, 0, False),
    "record_max_mb": (float, 0, False),
    "record_keep": (int, 0, True),
}


@dataclass(frozen=True, slots=True)
class Profile:
    """One resolved profile: URLs filled in from the environment, key_file expanded.

    Treat the dicts as read-only; the ``with_*`` helpers return changed copies, which
    :func:`write_profile` saves.
    """

    name: str
    environment: str = "prod"
    ws_url: str = ENDPOINTS["prod"][0]
    rest_url: str = ENDPOINTS["prod"][1]
    key_id: str | None = None
    key_file: Path | None = None
    watchlists: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    theme: str = DEFAULT_THEME
    refresh_rate: float = DEFAULT_REFRESH_RATE
    flash: bool = True  # flash changed prices; off saves terminal bandwidth over slow SSH
    timezone: str = "local"  # one of TIMEZONES
    bindings: dict[str, str] = field(default_factory=dict, hash=False)
    stream: StreamSettings = field(default_factory=StreamSettings)
    rest: RestSettings = field(default_factory=RestSettings)
    alerts: tuple[Rule, ...] = ()
    alert_command: str | None = None  # run per alert with the alert as JSON on stdin
    # The file it came from (or will be written to): only for error messages.
    source: Path | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(
        cls,
        name: str = DEFAULT_PROFILE_NAME,
        environment: str = "prod",
        *,
        ws_url: str | None = None,
        rest_url: str | None = None,
        key_id: str | None = None,
        key_file: str | os.PathLike[str] | None = None,
        watchlists: Mapping[str, Iterable[str]] | None = None,
        theme: str = DEFAULT_THEME,
        refresh_rate: float = DEFAULT_REFRESH_RATE,
        flash: bool = True,
        timezone: str = "local",
        bindings: Mapping[str, str] | None = None,
        stream: StreamSettings | None = None,
        rest: RestSettings | None = None,
        alerts: Iterable[Rule] = (),
        alert_command: str | None = None,
        source: Path | None = None,
    ) -> Profile:
        """Build and validate a profile from values (same rules and errors as the file)."""
        table: dict[str, Any] = {
            "environment": environment,
            "theme": theme,
            "refresh_rate": refresh_rate,
            "flash": flash,
            "timezone": timezone,
        }
        optional = {
            "ws_url": ws_url,
            "rest_url": rest_url,
            "key_id": key_id,
            "key_file": os.fspath(key_file) if key_file is not None else None,
            "alert_command": alert_command,
        }
        table.update({k: v for k, v in optional.items() if v is not None})
        if watchlists:
            table["watchlists"] = {k: list(v) for k, v in watchlists.items()}
        if bindings:
            table["bindings"] = dict(bindings)
        if stream is not None:
            table["stream"] = {k: v for k, v in dataclasses.asdict(stream).items() if v is not None}
        if rest is not None:
            table["rest"] = dataclasses.asdict(rest)
        if alerts:
            table["alerts"] = [rule_to_toml(r) for r in alerts]
        return _parse_profile(name, table, source)

    # -- helpers for the UI: each returns a new Profile ---------------------------------------

    def with_watchlist(self, name: str, tickers: Iterable[str]) -> Profile:
        """Set (or add, at the end) one watchlist group (tickers upper-cased, as Kalshi writes them)."""
        groups = dict(self.watchlists)
        groups[name] = _unique(t.upper() for t in tickers)
        return dataclasses.replace(self, watchlists=groups)

    def without_watchlist(self, name: str) -> Profile:
        groups = {k: v for k, v in self.watchlists.items() if k != name}
        return dataclasses.replace(self, watchlists=groups)

    def with_market(self, watchlist: str, ticker: str) -> Profile:
        """Append a market to a group (created if missing); no-op if already there."""
        return self.with_watchlist(watchlist, (*self.watchlists.get(watchlist, ()), ticker))

    def without_market(self, watchlist: str, ticker: str) -> Profile:
        if watchlist not in self.watchlists:
            return self
        return self.with_watchlist(watchlist, [t for t in self.watchlists[watchlist] if t != ticker])

    def with_binding(self, action: str, key: str | None) -> Profile:
        """Remap an action to a key, or drop the remap with ``key=None``."""
        keys = {k: v for k, v in self.bindings.items() if k != action}
        if key is not None:
            keys[action] = key
        return dataclasses.replace(self, bindings=keys)

    def with_alerts(self, rules: Iterable[Rule]) -> Profile:
        return dataclasses.replace(self, alerts=tuple(rules))

    @property
    def tickers(self) -> tuple[str, ...]:
        """Every market in every watchlist, first appearance first (what to subscribe)."""
        return _unique(t for group in self.watchlists.values() for t in group)

    # -- credentials ---------------------------------------------------------------------------

    def key_problem(self) -> str | None:
        """Why this profile can't sign in (missing key id/file, unsafe permissions), or None."""
        issue = self._key_issue()
        return issue[1] if issue else None

    def check_key_file(self) -> Path:
        """The key file's path, once it is known to exist and be private; else ConfigError."""
        issue = self._key_issue()
        if issue is None:
            assert self.key_file is not None
            return self.key_file
        leaf, problem, fix = issue
        setting = f"{_dotted('profiles', self.name)}.{leaf}"
        text = f"{setting} {problem}" if problem.startswith("is ") else f"{setting}: {problem}"
        raise ConfigError(self.source, setting, text, fix)

    def _key_issue(self) -> tuple[str, str, str] | None:
        """(setting, problem, fix) for the first thing that stops signing in, or None."""
        init = f"kalshi-tui {_profile_option(self.name)}init"
        if not self.key_id:
            return "key_id", "is not set", f"run {init} --key-id ID"
        if self.key_file is None:
            return "key_file", "is not set", f"run {init} --key-file PATH"
        from kalshi_tui.auth import key_file_problem  # lazy: cryptography is a slow import

        problem = key_file_problem(self.key_file)
        if problem is None:
            return None
        fix = "fix the permissions" if "chmod" in problem else f"fix the path ({init} --key-file PATH)"
        return "key_file", problem, fix


@dataclass(frozen=True, slots=True)
class Config:
    """The whole file: where it is, which profile is the default, every profile by name."""

    path: Path
    default_profile: str | None = None
    profiles: dict[str, Profile] = field(default_factory=dict, hash=False)

    def profile(self, name: str | None = None) -> Profile:
        """The named profile, or the default one (a lone profile is the default)."""
        if name is None:
            name = self.default_profile
            if name is None:
                if len(self.profiles) == 1:
                    return next(iter(self.profiles.values()))
                if not self.profiles:
                    raise ConfigError(
                        self.path, "profiles", "no profiles yet", "run kalshi-tui init to write one"
                    )
                raise ConfigError(
                    self.path,
                    "default_profile",
                    "default_profile is not set",
                    f"set it to one of {_names(self.profiles)} or pass --profile",
                )
        found = self.profiles.get(name)
        if found is None:
            known = f"known: {_names(self.profiles)}" if self.profiles else "there are none yet"
            raise ConfigError(
                self.path,
                _dotted("profiles", name),
                f"no profile {name!r} ({known})",
                f"pass --profile with a known name or run kalshi-tui {_profile_option(name)}init",
            )
        return found

    def with_profile(self, profile: Profile, make_default: bool = False) -> Config:
        """Add or replace a profile; it becomes the default if asked or if there is none."""
        profiles = dict(self.profiles)
        profiles[profile.name] = dataclasses.replace(profile, source=self.path)
        default = self.default_profile
        if make_default or default is None:
            default = profile.name
        return Config(self.path, default, profiles)

    def without_profile(self, name: str) -> Config:
        profiles = {k: v for k, v in self.profiles.items() if k != name}
        default = self.default_profile if self.default_profile != name else None
        return Config(self.path, default, profiles)


# ---------------------------------------------------------------------------------------------
# Paths


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--config, else $KALSHI_TUI_CONFIG, else config.toml in the platform config dir."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs  # lazy: only needed when nothing was given

    return Path(platformdirs.user_config_dir(APP_NAME)) / FILE_NAME


def display_path(path: Path | str) -> str:
    """A path as people write it: the home directory shown as ``~``; pasted key text never."""
    text = os.fspath(path)
    if looks_like_key(text):
        return KEY_TEXT_SHOWN
    home = os.path.expanduser("~")
    if home not in ("", "/", "~") and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home) :]
    return text


# ---------------------------------------------------------------------------------------------
# Reading


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the file. A missing file is an empty Config, not an error."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Config(path)
    except IsADirectoryError:
        raise ConfigError(
            path, "", "is a directory, not a config file", "point --config or $KALSHI_TUI_CONFIG at a file"
        ) from None
    except OSError as exc:
        raise ConfigError(
            path, "", f"cannot read the config file ({exc.strerror})", "check the file's permissions"
        ) from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(path, data, exc) from None
    return parse_config(raw, path)


def parse_config(raw: Mapping[str, Any], path: Path) -> Config:
    """Validate a parsed TOML document into a Config (errors name ``path``)."""
    _reject_unknown(raw, _TOP_KEYS, "", path)
    profiles_raw = raw.get("profiles", {})
    _expect_table(profiles_raw, "profiles", path, "[profiles.main]")
    profiles = {}
    for name, table in profiles_raw.items():
        if not name.strip():
            raise ConfigError(
                path,
                _dotted("profiles", name),
                "a profile has an empty name",
                "give it a name, e.g. [profiles.main]",
            )
        profiles[name] = _parse_profile(name, table, path)
    default = raw.get("default_profile")
    if default is not None:
        if not isinstance(default, str):
            raise _type_error(path, "default_profile", default, "a string", '"main"')
        if default not in profiles:
            known = f"known: {_names(profiles)}" if profiles else "there are none"
            raise ConfigError(
                path,
                "default_profile",
                f"default_profile = {default!r} names no profile ({known})",
                "set it to an existing profile or add [profiles." + _dotted(default) + "]",
            )
    return Config(path, default, profiles)


def _parse_profile(name: str, table: Any, path: Path | None) -> Profile:
    prefix = _dotted("profiles", name)
    _expect_table(table, prefix, path, f"[{prefix}]")
    _reject_unknown(table, _PROFILE_KEYS, prefix, path)

    def setting(key: str) -> str:
        return f"{prefix}.{key}"

    def text(key: str, example: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise _type_error(path, setting(key), value, "a string", example)
        if not value.strip():
            raise ConfigError(
                path,
                setting(key),
                f"{setting(key)} is empty",
                f"set it, e.g. {key} = {example}, or remove it",
            )
        return value

    environment = text("environment", '"prod"') or "prod"
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            path,
            setting("environment"),
            f"{setting('environment')} = {_show(environment)} is not one of {', '.join(ENVIRONMENTS)}",
            "pick one of those or set ws_url and rest_url",
        )
    ws_url = text("ws_url", '"wss://external-api-ws.kalshi.com/trade-api/ws/v2"')
    rest_url = text("rest_url", '"https://external-api.kalshi.com/trade-api/v2"')
    if environment == "custom":
        for key, value, example in (
            ("ws_url", ws_url, "ws://127.0.0.1:8765/trade-api/ws/v2"),
            ("rest_url", rest_url, "http://127.0.0.1:8765/trade-api/v2"),
        ):
            if value is None:
                raise ConfigError(
                    path,
                    setting(key),
                    f"{setting(key)} is missing: environment 'custom' needs ws_url and rest_url",
                    f'set it, e.g. {key} = "{example}", or use prod or demo',
                )
    _check_url(path, setting("ws_url"), ws_url, WS_SCHEMES, ENDPOINTS["prod"][0])
    _check_url(path, setting("rest_url"), rest_url, REST_SCHEMES, ENDPOINTS["prod"][1])
    default_ws, default_rest = ENDPOINTS.get(environment, ("", ""))

    key_id = text("key_id", '"a952bcbe-ec3b-4b5b-b8f9-11dae589608c"')
    key_file_text = table.get("key_file")
    key_file = None
    if key_file_text is not None:
        if isinstance(key_file_text, str) and looks_like_key(key_file_text):
            # Never echo it back: the user pasted the private key itself.
            raise ConfigError(
                path,
                setting("key_file"),
                f"{setting('key_file')} holds key contents, not a path",
                "save the key to a file (chmod 600) and put its path here; treat the pasted key as exposed",
            )
        key_file = _resolve_key_file(text("key_file", '"~/.kalshi/key.pem"') or "", path)

    theme = text("theme", '"kalshi-dark"') or DEFAULT_THEME
    refresh_rate = _number(table, "refresh_rate", float, setting("refresh_rate"), path, DEFAULT_REFRESH_RATE)
    if not 0 < refresh_rate <= MAX_REFRESH_RATE:
        raise ConfigError(
            path,
            setting("refresh_rate"),
            f"{setting('refresh_rate')} = {_show(refresh_rate)} is out of range",
            f"use a rate above 0 and at most {MAX_REFRESH_RATE:g} updates/s",
        )
    flash = table.get("flash", True)
    if not isinstance(flash, bool):
        raise ConfigError(
            path,
            setting("flash"),
            f"{setting('flash')} = {_show(flash)} is not true or false",
            "write flash = true or flash = false (no quotes)",
        )
    timezone = text("timezone", '"local"') or "local"
    if timezone not in TIMEZONES:
        raise ConfigError(
            path,
            setting("timezone"),
            f"{setting('timezone')} = {_show(timezone)} is not a time zone the app knows",
            'write timezone = "local" (this machine\'s) or timezone = "US/Eastern" (Kalshi\'s)',
        )

    return Profile(
        name=name,
        environment=environment,
        ws_url=ws_url or default_ws,
        rest_url=rest_url or default_rest,
        key_id=key_id,
        key_file=key_file,
        watchlists=_parse_watchlists(table.get("watchlists"), setting("watchlists"), path),
        theme=theme,
        refresh_rate=refresh_rate,
        flash=flash,
        timezone=timezone,
        bindings=_parse_bindings(table.get("bindings"), setting("bindings"), path),
        stream=_parse_stream(table.get("stream"), setting("stream"), path),
        rest=_parse_rest(table.get("rest"), setting("rest"), path),
        alerts=_parse_alerts(table.get("alerts"), setting("alerts"), path),
        alert_command=_parse_command(
            text("alert_command", '"~/bin/on-alert"'), setting("alert_command"), path
        ),
        source=path,
    )


def _parse_watchlists(value: Any, where: str, path: Path | None) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    _expect_table(value, where, path, f"[{where}]")
    groups: dict[str, tuple[str, ...]] = {}
    for group, tickers in value.items():
        key = f"{where}.{_dotted(group)}"
        if not isinstance(tickers, list):
            raise _type_error(path, key, tickers, "an array of market tickers", '["TICKER-1", "TICKER-2"]')
        for ticker in tickers:
            if not isinstance(ticker, str):
                raise _type_error(
                    path, key, ticker, "an array of strings (market tickers)", '["TICKER-1", "TICKER-2"]'
                )
            if not ticker or any(c.isspace() or c == "," for c in ticker):
                raise ConfigError(
                    path,
                    key,
                    f"{key} has {_show(ticker)}, not a market ticker",
                    'write one ticker per string, e.g. ["A-1", "B-2"]',
                )
        groups[group] = _unique(t.upper() for t in tickers)
    return groups


def _parse_bindings(value: Any, where: str, path: Path | None) -> dict[str, str]:
    if value is None:
        return {}
    _expect_table(value, where, path, f"[{where}]")
    keys: dict[str, str] = {}
    for action, key in value.items():
        dotted = f"{where}.{_dotted(action)}"
        if not isinstance(key, str):
            raise _type_error(path, dotted, key, "a key name string", '"ctrl+q"')
        if not key.strip():
            raise ConfigError(
                path, dotted, f"{dotted} is empty", 'name a key, e.g. "ctrl+q", or remove the line'
            )
        keys[action] = key
    return keys


def _parse_alerts(value: Any, where: str, path: Path | None) -> tuple[Rule, ...]:
    """[[profiles.NAME.alerts]] tables; a bad rule is one sentence naming it (numbered from 1)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(
            path, where, f"{where} is not a list of tables", f"write each rule as a [[{where}]] table"
        )
    rules = []
    for i, table in enumerate(value, 1):
        try:
            rules.append(parse_rule(table, f"{where}[{i}]"))
        except RuleError as exc:
            raise ConfigError(path, exc.setting, exc.problem, exc.fix) from None
    return tuple(rules)


def _parse_command(command: str | None, where: str, path: Path | None) -> str | None:
    if command is not None:
        try:
            shlex.split(command)
        except ValueError as exc:
            raise ConfigError(
                path, where, f"{where} is not a command line ({exc})", "close the quote or remove it"
            ) from None
    return command


def _parse_rest(value: Any, where: str, path: Path | None) -> RestSettings:
    if value is None:
        return RestSettings()
    return RestSettings(**_settings_table(value, where, path, _REST_RULES, RestSettings()))


def _settings_table(
    value: Any, where: str, path: Path | None, rules: dict[str, tuple[type, float, bool]], defaults: Any
) -> dict[str, Any]:
    """A table of numbers with lower bounds ([stream], [rest]) -> its values, checked."""
    _expect_table(value, where, path, f"[{where}]")
    _reject_unknown(value, tuple(rules), where, path)
    values: dict[str, Any] = {}
    for key, (kind, low, inclusive) in rules.items():
        number = _number(value, key, kind, f"{where}.{key}", path, getattr(defaults, key))
        if number < low or (number == low and not inclusive):
            bound = f">= {low}" if inclusive else f"> {low}"
            raise ConfigError(
                path,
                f"{where}.{key}",
                f"{where}.{key} = {_show(number)} is out of range",
                f"use a value {bound} (default {getattr(defaults, key)})",
            )
        values[key] = number
    return values


def _parse_stream(value: Any, where: str, path: Path | None) -> StreamSettings:
    if value is None:
        return StreamSettings()
    record = value.get("record") if isinstance(value, Mapping) else None
    if record is not None and (not isinstance(record, str) or not record.strip()):
        raise _type_error(path, f"{where}.record", record, "a file path", '"~/kalshi/stream.jsonl.zst"')
    values = _settings_table(
        {k: v for k, v in value.items() if k != "record"} if isinstance(value, dict) else value,
        where,
        path,
        _STREAM_RULES,
        StreamSettings(),
    )
    if record is not None:
        values["record"] = str(_resolve_key_file(record, path))  # relative to the config file
    settings = StreamSettings(**values)
    if settings.backoff_cap < settings.backoff_base:
        raise ConfigError(
            path,
            f"{where}.backoff_cap",
            f"{where}.backoff_cap = {_show(settings.backoff_cap)} is below "
            f"backoff_base = {_show(settings.backoff_base)}",
            "make the cap at least the base delay",
        )
    return settings


def _number(
    table: Mapping[str, Any], key: str, kind: type, where: str, path: Path | None, default: float
) -> Any:
    value = table.get(key, default)
    # bool is an int subclass in Python, but `true` is no number in TOML.
    ok = (type(value) is int) or (kind is float and type(value) is float)
    if not ok:
        expected = "a whole number" if kind is int else "a number"
        raise _type_error(path, where, value, expected, str(default))
    if kind is float:
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(
                path, where, f"{where} = {value} is not a finite number", f"use a number, e.g. {default}"
            )
    return value


def _resolve_key_file(text: str, path: Path | None) -> Path:
    # Relative paths are relative to the config file, so the profile means the same from any cwd.
    p = Path(text).expanduser()
    if not p.is_absolute():
        base = path.parent if path is not None else Path.cwd()
        p = base / p
    return Path(os.path.normpath(p))


def url_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    """What is wrong with ``url`` as an endpoint (phrase after "URL ..."), or None if usable.

    The one check behind every URL the program takes: --ws-url, --rest-url, init's URLs and
    the config file's ws_url/rest_url. ``schemes`` are bare names, e.g. ("ws", "wss").
    """
    if any(c.isspace() for c in url):
        return "contains a space"
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "ws://[::1" (an unclosed IPv6 bracket)
        return "is not a valid URL"
    if parts.scheme.lower() not in schemes:
        return f"is not {_URL_KINDS.get(schemes[0], 'a ' + schemes[0])} URL"
    if not parts.hostname:
        return "has no host name"
    try:
        port = parts.port
    except ValueError:
        return "has a port that is not a number from 1 to 65535"
    if port == 0:
        return "has a port that is not a number from 1 to 65535"
    return None


def rest_url_for(ws_url: str) -> str | None:
    """The REST base URL beside a WebSocket URL, as Kalshi lays them out, or None.

    wss://host/trade-api/ws/v2 -> https://host/trade-api/v2 (ws:// -> http://).
    """
    if url_problem(ws_url, WS_SCHEMES) is not None:
        return None
    parts = urlsplit(ws_url)
    scheme = "https" if parts.scheme.lower() == "wss" else "http"
    path = parts.path.rstrip("/")
    head, sep, version = path.rpartition("/ws/")
    path = f"{head}/{version}" if sep else path
    return urlunsplit((scheme, parts.netloc, path, "", ""))


_URL_KINDS = {"ws": "a WebSocket", "http": "an HTTP"}


def check_url_option(url: str, option: str, schemes: tuple[str, ...], example: str) -> None:
    """A URL from the command line: one sentence naming the option if it is unusable."""
    problem = url_problem(url, schemes)
    if problem is not None:
        raise UserError(f"{option} {_show(url)} {problem}: {url_fix(schemes, example)}")


def url_fix(schemes: tuple[str, ...], example: str) -> str:
    return f"use a URL starting with {' or '.join(s + '://' for s in schemes)}, e.g. {example}"


def _check_url(
    path: Path | None, where: str, url: str | None, schemes: tuple[str, ...], example: str
) -> None:
    if url is None:
        return
    problem = url_problem(url, schemes)
    if problem is not None:
        raise ConfigError(path, where, f"{where} = {_show(url)} {problem}", url_fix(schemes, example))


def _syntax_error(path: Path, data: bytes, exc: tomllib.TOMLDecodeError) -> ConfigError:
    message = str(exc)
    line = _error_line(message)
    where = ""
    if line is not None:
        where = _setting_at_line(data.decode("utf-8", "replace").splitlines(), line)
    near = f" (near {where})" if where else ""
    fix = "fix the syntax on that line" if line is not None else "fix the syntax"
    return ConfigError(path, where, f"not valid TOML: {message}{near}", fix)


def _error_line(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def _setting_at_line(lines: list[str], lineno: int) -> str:
    """Best-effort dotted name of the key on a line, from the last [table] header above it."""
    if not 1 <= lineno <= len(lines):
        return ""
    key = re.match(r"\s*([A-Za-z0-9_.\-\"' ]+?)\s*=", lines[lineno - 1])
    table = ""
    for text in reversed(lines[: lineno - 1]):
        header = re.match(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", text)
        if header:
            table = header.group(1).replace(" ", "")
            break
    if key is None:
        return table
    name = key.group(1).replace(" ", "")
    return f"{table}.{name}" if table else name


# ---------------------------------------------------------------------------------------------
# Writing


def config_to_toml(config: Config) -> dict[str, Any]:
    """The document tomli_w writes for a Config (defaults left implicit where that's clearer)."""
    doc: dict[str, Any] = {}
    if config.default_profile is not None:
        doc["default_profile"] = config.default_profile
    if config.profiles:
        doc["profiles"] = {name: profile_to_toml(p) for name, p in config.profiles.items()}
    return doc


def profile_to_toml(profile: Profile) -> dict[str, Any]:
    table: dict[str, Any] = {"environment": profile.environment}
    default_ws, default_rest = ENDPOINTS.get(profile.environment, ("", ""))
    # Only real overrides are written, so a later change of default URL reaches old profiles.
    if profile.ws_url != default_ws:
        table["ws_url"] = profile.ws_url
    if profile.rest_url != default_rest:
        table["rest_url"] = profile.rest_url
    if profile.key_id is not None:
        table["key_id"] = profile.key_id
    if profile.key_file is not None:
        table["key_file"] = display_path(profile.key_file)
    table["theme"] = profile.theme
    table["refresh_rate"] = float(profile.refresh_rate)
    if not profile.flash:
        table["flash"] = False
    if profile.timezone != "local":
        table["timezone"] = profile.timezone
    if profile.watchlists:
        table["watchlists"] = {k: list(v) for k, v in profile.watchlists.items()}
    if profile.bindings:
        table["bindings"] = dict(profile.bindings)
    defaults = StreamSettings()
    changed = {k: v for k, v in dataclasses.asdict(profile.stream).items() if v != getattr(defaults, k)}
    if changed:
        table["stream"] = changed
    rest = {k: v for k, v in dataclasses.asdict(profile.rest).items() if v != getattr(RestSettings(), k)}
    if rest:
        table["rest"] = rest
    if profile.alert_command is not None:
        table["alert_command"] = profile.alert_command
    if profile.alerts:
        table["alerts"] = [rule_to_toml(r) for r in profile.alerts]
    return table


def save_config(
    config: Config, path: str | os.PathLike[str] | None = None, *, previous: Config | None = None
) -> Path:
    """Write the whole config atomically to ``path`` (default: ``config.path``).

    With ``previous`` (what the file on disk holds now), only the settings that differ are
    changed in the file's own text, keeping comments, order and spacing. A write that fails
    (full disk, read-only folder) is a ConfigError and leaves the old file as it was.
    """
    target = Path(path) if path is not None else config.path
    text = _edited_text(target, previous, config) if previous is not None else None
    if text is None:
        import tomli_w  # lazy: only writers need it

        text = tomli_w.dumps(config_to_toml(config))
    try:
        atomic_write(target, text.encode("utf-8"))
    except OSError as exc:
        raise _write_error(target, exc) from None
    return target


def write_profile(path: str | os.PathLike[str], profile: Profile, make_default: bool = False) -> Config:
    """Merge one profile into the file on disk, keeping every other profile, and save.

    The file is re-read first, so edits made meanwhile to other profiles survive. A file that
    doesn't parse is left alone (ConfigError) rather than overwritten.
    """
    path = Path(path)
    previous = load_config(path)
    config = previous.with_profile(profile, make_default=make_default)
    save_config(config, path, previous=previous)
    return config


def _write_error(path: Path, exc: OSError) -> ConfigError:
    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        fix = "free some disk space and try again (the old file is unchanged)"
    elif exc.errno == errno.EROFS:
        fix = "it is on a read-only filesystem: point --config or $KALSHI_TUI_CONFIG at a writable place"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        fix = "check the folder's permissions or point --config at a writable place"
    else:
        fix = "check the disk and the folder, then try again (the old file is unchanged)"
    return ConfigError(path, "", f"cannot write the config file ({reason})", fix)


def _edited_text(path: Path, previous: Config, config: Config) -> str | None:
    """The file's own text with only what changed from ``previous`` to ``config`` edited.

    None (write the file fresh) when there is no file, it no longer holds ``previous``, or
    the edit would not read back as exactly ``config``.
    """
    try:
        original = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not original.strip():
        return None
    import tomlkit  # lazy: only writers need it

    try:
        if parse_config(tomllib.loads(original), path) != previous:
            return None  # changed on disk since it was read: write what we know whole
        doc = tomlkit.parse(original)
        _merge(doc, config_to_toml(previous), config_to_toml(config))
        text = tomlkit.dumps(doc)
        if parse_config(tomllib.loads(text), path) != config:
            return None
    except Exception:  # a tomlkit corner case must never cost the user their settings
        return None
    return text


def _merge(table: Any, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Apply the difference between two plain documents to a tomlkit table, in place."""
    for key in old:
        if key not in new and key in table:
            del table[key]
    for key, value in new.items():
        before = old.get(key)
        if before == value:
            continue
        current = table.get(key) if key in table else None
        if isinstance(value, dict) and isinstance(before, dict) and isinstance(current, dict):
            _merge(current, before, value)
        elif (
            isinstance(value, list)
            and isinstance(current, list)
            and (_edit_tables(current, before, value) or _edit_array(current, before, value))
        ):
            pass
        else:
            table[key] = value


def _edit_tables(array: list[Any], before: Any, after: list[Any]) -> bool:
    """Edit an array of tables ([[alerts]]) in place: one table changed, added at the end or
    removed, so each other table keeps its comments. False when that isn't the change."""
    if not isinstance(before, list) or len(array) != len(before):
        return False
    if not all(isinstance(x, dict) for x in (*before, *after, *array)):
        return False
    if len(after) == len(before):
        for table, old, new in zip(array, before, after, strict=True):
            if old != new:
                _merge(table, old, new)
        return True
    if len(after) == len(before) + 1 and after[:-1] == before:
        array.append(after[-1])
        return True
    if len(after) == len(before) - 1:
        for i in range(len(before)):
            if before[:i] + before[i + 1 :] == after:
                del array[i]
                return True
    return False


def _edit_array(array: list[Any], before: Any, after: list[Any]) -> bool:
    """Remove and append items in a tomlkit array so its layout stays; False if that can't work."""
    if not isinstance(before, list) or [str(x).upper() for x in array] != before:
        return False
    kept = [x for x in before if x in after]
    added = [x for x in after if x not in before]
    if kept + added != after:
        return False  # a reorder: the caller replaces the whole array
    for i in reversed(range(len(before))):
        if before[i] not in after:
            del array[i]
    for item in added:
        array.append(item)
    return True


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers (and a crash) see the old or new file, whole.

    The temp file is created 0600 in the same directory (rename is only atomic within one
    filesystem), fsynced, then renamed over the target; the directory is fsynced too so the
    rename itself survives a power cut. A symlinked config file is written through the link.
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = folder / f".{target.name}.{os.urandom(6).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # exactly 0600 whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform; the data itself is already synced
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Small helpers


def _dotted(*parts: str) -> str:
    """Join keys as TOML writes them: bare when possible, quoted otherwise."""
    return ".".join(p if _BARE_KEY.fullmatch(p) else '"' + p.replace('"', '\\"') + '"' for p in parts)


def _profile_option(name: str) -> str:
    """The --profile option to repeat in a suggested command ("" for the default name)."""
    return "" if name == DEFAULT_PROFILE_NAME else f"--profile {shlex.quote(name)} "


def _names(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def tickers_from_text(text: str) -> list[str]:
    """ "a, KXB-1,,a" -> ["A", "KXB-1"]: a comma list of tickers as typed on a command line,
    upper-cased as Kalshi writes them, blanks and repeats dropped."""
    return list(_unique(t.strip().upper() for t in text.split(",") if t.strip()))


KEY_TEXT_SHOWN = "(key contents, not shown)"


def check_path_text(text: str, option: str) -> None:
    """Refuse a "path" that is really pasted key text, without echoing it."""
    if looks_like_key(text):
        raise UserError(
            f"{option} holds key contents, not a path: save the key to a file (chmod 600) and pass "
            "its path; treat the pasted key as exposed"
        )


_TOML_TYPES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "float",
    list: "array",
    dict: "table",
}


def _show(value: Any) -> str:
    """A value for an error message: short, one line, never a pasted key."""
    if isinstance(value, str):
        if looks_like_key(value):
            return KEY_TEXT_SHOWN
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return f"(a {_TOML_TYPES.get(type(value), type(value).__name__)})"


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _type_error(path: Path | None, where: str, value: Any, expected: str, example: str) -> ConfigError:
    kind = _TOML_TYPES.get(type(value), type(value).__name__)
    leaf = where.rsplit(".", 1)[-1]
    return ConfigError(
        path,
        where,
        f"{where} = {_show(value)} is {_a(kind)}, expected {expected}",
        f"write it like {leaf} = {example}",
    )


def _expect_table(value: Any, where: str, path: Path | None, example: str) -> None:
    if not isinstance(value, dict):
        kind = _TOML_TYPES.get(type(value), type(value).__name__)
        raise ConfigError(
            path, where, f"{where} is {_a(kind)}, expected a table", f"write it as a {example} section"
        )


def _reject_unknown(table: Mapping[str, Any], known: tuple[str, ...], where: str, path: Path | None) -> None:
    for key in table:
        if key in known:
            continue
        dotted = f"{where}.{_dotted(key)}" if where else _dotted(key)
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(known)}"
        raise ConfigError(
            path, dotted, f"{dotted} is not a known setting", f"remove it or fix the name ({hint})"
        )


__all__ = [
    "DEFAULT_PROFILE_NAME",
    "DEFAULT_REFRESH_RATE",
    "DEFAULT_THEME",
    "ENDPOINTS",
    "ENVIRONMENTS",
    "ENV_VAR",
    "Config",
    "ConfigError",
    "Profile",
    "StreamSettings",
    "atomic_write",
    "config_path",
    "config_to_toml",
    "display_path",
    "load_config",
    "parse_config",
    "profile_to_toml",
    "save_config",
    "write_profile",
]
