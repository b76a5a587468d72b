"""TOML profiles: strict reading with one-line errors, atomic 0600 writing, helpers."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.waiting import GUARD
from kalshi_tui import config as cfg
from kalshi_tui.auth import generate_key, write_private_key
from kalshi_tui.config import (
    ENDPOINTS,
    Config,
    ConfigError,
    Profile,
    StreamSettings,
    config_path,
    load_config,
    save_config,
    write_profile,
)
from kalshi_tui.errors import UserError

REPO = Path(__file__).resolve().parents[1]

FULL = """\
default_profile = "main"

[profiles.main]
environment = "demo"
key_id = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"
key_file = "keys/demo.pem"
theme = "kalshi-light"
refresh_rate = 4

[profiles.main.watchlists]
fed = ["KXFED-26DEC-H0", "KXFED-26DEC-H25", "KXFED-26DEC-H0"]
"us.politics" = []

[profiles.main.bindings]
quit = "ctrl+q"

[profiles.main.stream]
backoff_cap = 60
markets_per_subscription = 250

[profiles.sim]
environment = "custom"
ws_url = "ws://127.0.0.1:8765/trade-api/ws/v2"
rest_url = "http://127.0.0.1:8765/trade-api/v2"
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


# -- reading -----------------------------------------------------------------------------------


def test_full_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path / "config.toml", FULL))
    assert config.path == tmp_path / "config.toml"
    assert config.default_profile == "main"
    assert list(config.profiles) == ["main", "sim"]
    main = config.profile()
    assert main == config.profile("main")
    assert main.environment == "demo"
    assert (main.ws_url, main.rest_url) == (
        "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
        "https://external-api.demo.kalshi.co/trade-api/v2",
    )
    assert main.key_id == "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"
    # A relative key path is relative to the config file, not to the cwd.
    assert main.key_file == tmp_path / "keys" / "demo.pem"
    assert main.theme == "kalshi-light"
    assert main.refresh_rate == 4.0 and isinstance(main.refresh_rate, float)
    assert main.watchlists == {"fed": ("KXFED-26DEC-H0", "KXFED-26DEC-H25"), "us.politics": ()}
    assert main.tickers == ("KXFED-26DEC-H0", "KXFED-26DEC-H25")
    assert main.bindings == {"quit": "ctrl+q"}
    assert main.stream == StreamSettings(backoff_cap=60.0, markets_per_subscription=250)
    assert main.stream.backoff_base == 0.5 and main.stream.buffer_size == 10_000
    assert main.stream.subscribe_timeout == 10.0

    sim = config.profile("sim")
    assert sim.environment == "custom"
    assert sim.ws_url == "ws://127.0.0.1:8765/trade-api/ws/v2"
    assert sim.rest_url == "http://127.0.0.1:8765/trade-api/v2"
    assert (sim.key_id, sim.key_file, sim.watchlists) == (None, None, {})
    assert (sim.theme, sim.refresh_rate, sim.stream) == ("kalshi-dark", 10.0, StreamSettings())


def test_prod_is_the_default_environment(tmp_path: Path) -> None:
    profile = load_config(_write(tmp_path / "c.toml", "[profiles.x]\n")).profile()
    assert profile.environment == "prod"
    assert profile.ws_url == "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
    assert profile.rest_url == "https://external-api.kalshi.com/trade-api/v2"


def test_url_override_keeps_the_environment(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.toml",
        """\
        [profiles.x]
        environment = "prod"
        ws_url = "wss://api.elections.kalshi.com/trade-api/ws/v2"
        """,
    )
    profile = load_config(path).profile("x")
    assert profile.ws_url == "wss://api.elections.kalshi.com/trade-api/ws/v2"
    assert profile.rest_url == ENDPOINTS["prod"][1]


def test_tilde_in_key_file_is_expanded(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.toml", '[profiles.x]\nkey_file = "~/.kalshi/key.pem"\n')
    assert load_config(path).profile().key_file == Path.home() / ".kalshi" / "key.pem"


def test_missing_file_is_an_empty_config(tmp_path: Path) -> None:
    config = load_config(tmp_path / "nope" / "config.toml")
    assert config == Config(tmp_path / "nope" / "config.toml", None, {})
    with pytest.raises(ConfigError, match="no profiles yet: run kalshi-tui init"):
        config.profile()


BAD_FILES = [
    # (file text, dotted setting the message must name, another fragment it must contain)
    ("[profiles.main]\nrefresh_rate = = 3\n", "profiles.main.refresh_rate", "line 2"),
    (
        '[profiles.main]\nenvironment = "staging"\n',
        "profiles.main.environment",
        "'staging' is not one of prod, demo, custom: pick one of those or set ws_url and rest_url",
    ),
    (
        '[profiles.main]\nrefresh_rate = "fast"\n',
        "profiles.main.refresh_rate",
        "is a string, expected a number",
    ),
    (
        "[profiles.main]\nrefresh_rate = true\n",
        "profiles.main.refresh_rate",
        "is a boolean, expected a number",
    ),
    ("[profiles.main]\nrefresh_rate = 0\n", "profiles.main.refresh_rate", "out of range"),
    ("[profiles.main]\nrefresh_rate = 61\n", "profiles.main.refresh_rate", "out of range"),
    ("[profiles.main]\nrefresh_rate = nan\n", "profiles.main.refresh_rate", "not a finite"),
    ("[profiles.main]\nkey_id = 12\n", "profiles.main.key_id", "is an integer, expected a string"),
    ('[profiles.main]\ntheme = ""\n', "profiles.main.theme", "is empty"),
    (
        "[profiles.main]\nrefresh_rte = 5\n",
        "profiles.main.refresh_rte",
        "not a known setting: remove it or fix the name (did you mean refresh_rate?)",
    ),
    ('defualt_profile = "main"\n', "defualt_profile", "did you mean default_profile?"),
    (
        "[profiles.main.stream]\nbufer_size = 5\n",
        "profiles.main.stream.bufer_size",
        "did you mean buffer_size?",
    ),
    (
        "[profiles.main.stream]\nbuffer_size = 1.5\n",
        "profiles.main.stream.buffer_size",
        "is a float, expected a whole number",
    ),
    ("[profiles.main.stream]\nbackoff_base = 0\n", "profiles.main.stream.backoff_base", "use a value > 0"),
    (
        "[profiles.main.stream]\nsubscribe_timeout = 0\n",
        "profiles.main.stream.subscribe_timeout",
        "use a value > 0",
    ),
    (
        "[profiles.main.stream]\nbackoff_base = 5\nbackoff_cap = 1\n",
        "profiles.main.stream.backoff_cap",
        "below backoff_base",
    ),
    (
        '[profiles.main]\nenvironment = "custom"\nrest_url = "http://127.0.0.1:1/trade-api/v2"\n',
        "profiles.main.ws_url",
        "environment 'custom' needs ws_url and rest_url",
    ),
    (
        '[profiles.main]\nenvironment = "custom"\nws_url = "ws://127.0.0.1:1/trade-api/ws/v2"\n',
        "profiles.main.rest_url",
        "environment 'custom' needs ws_url and rest_url",
    ),
    (
        '[profiles.main]\nws_url = "https://example.com/ws"\n',
        "profiles.main.ws_url",
        "use a URL starting with ws:// or wss://",
    ),
    (
        '[profiles.main.watchlists]\nfed = "KXFED"\n',
        "profiles.main.watchlists.fed",
        "expected an array of market tickers",
    ),
    ('[profiles.main.watchlists]\nfed = ["A", 3]\n', "profiles.main.watchlists.fed", "an array of strings"),
    ('[profiles.main.watchlists]\nfed = ["A, B"]\n', "profiles.main.watchlists.fed", "not a market ticker"),
    (
        '[profiles."my desk".bindings]\nquit = 3\n',
        'profiles."my desk".bindings.quit',
        "expected a key name string",
    ),
    ("profiles = 3\n", "profiles", "expected a table"),
    ('[profiles]\nmain = "prod"\n', "profiles.main", "expected a table"),
    (
        'default_profile = "live"\n[profiles.main]\n',
        "default_profile",
        "'live' names no profile (known: main)",
    ),
]


@pytest.mark.parametrize(
    "text, setting, fragment", BAD_FILES, ids=[b[1] + ":" + b[2][:20] for b in BAD_FILES]
)
def test_bad_file_gives_one_line_naming_file_and_setting(
    tmp_path: Path, text: str, setting: str, fragment: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    err = _error(path)
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert setting in message
    assert fragment in message
    assert isinstance(err, UserError) and err.exit_code == 2
    assert err.setting == setting
    assert err.path == path


def test_pasted_key_contents_are_never_echoed(tmp_path: Path) -> None:
    body = "MIIEowIBAAKCAQEAxQ2hJ3vWpLRXkqZ8tTqk0a1Yf9cQm2Lw0s1F7nB6vD3eR8uT4yA"
    path = tmp_path / "config.toml"
    path.write_text(
        f'[profiles.main]\nkey_file = """-----BEGIN RSA PRIVATE KEY-----\n'
        f'{body}\n-----END RSA PRIVATE KEY-----"""\n'
    )
    message = str(_error(path))
    assert message.startswith(f"{path}: profiles.main.key_file holds key contents, not a path")
    assert body[:20] not in message
    assert "BEGIN" not in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[profiles.main]\ntheme = "\xff"\n')
    assert str(_error(path)) == f"{path}: not UTF-8 text (byte 25): save the file as UTF-8"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert "is a directory" in str(_error(tmp_path))


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path / "config.toml", FULL))
    with pytest.raises(ConfigError) as info:
        config.profile("live")
    assert str(info.value) == (
        f"{tmp_path / 'config.toml'}: no profile 'live' (known: main, sim): pass --profile "
        "with a known name or run kalshi-tui --profile live init"
    )
    assert info.value.setting == "profiles.live"


def test_default_profile_rules(tmp_path: Path) -> None:
    one = load_config(_write(tmp_path / "one.toml", "[profiles.only]\n"))
    assert one.profile().name == "only"  # a lone profile needs no default_profile
    two = load_config(_write(tmp_path / "two.toml", "[profiles.a]\n[profiles.b]\n"))
    with pytest.raises(ConfigError, match="default_profile is not set: set it to one of a, b"):
        two.profile()
    assert two.profile("b").name == "b"


def test_home_is_shown_as_tilde() -> None:
    home = Path.home()
    err = ConfigError(home / ".config" / "kalshi-tui" / "config.toml", "x", "x is bad", "fix x")
    assert str(err) == "~/.config/kalshi-tui/config.toml: x is bad: fix x"


# -- key file checks ---------------------------------------------------------------------------


def test_check_key_file(tmp_path: Path) -> None:
    key_path = write_private_key(generate_key(), tmp_path / "key.pem")
    source = tmp_path / "config.toml"
    profile = Profile.create("main", key_id="k", key_file=key_path, source=source)
    assert profile.key_problem() is None
    assert profile.check_key_file() == key_path

    key_path.chmod(0o644)
    with pytest.raises(ConfigError) as info:
        profile.check_key_file()
    assert str(info.value) == (
        f"{source}: profiles.main.key_file: key file {key_path} is "
        f"readable by others: run chmod 600 {key_path}: fix the permissions"
    )

    gone = Profile.create("desk", key_id="k", key_file=tmp_path / "gone.pem", source=source)
    with pytest.raises(ConfigError) as info:
        gone.check_key_file()
    assert str(info.value) == (
        f"{source}: profiles.desk.key_file: key file not found: "
        f"{tmp_path / 'gone.pem'}: fix the path "
        "(kalshi-tui --profile desk init --key-file PATH)"
    )

    with pytest.raises(
        ConfigError,
        match=r"profiles\.main\.key_id is not set: run kalshi-tui "
        r"init --key-id ID",
    ):
        Profile.create("main", key_file=key_path, source=source).check_key_file()
    with pytest.raises(ConfigError, match=r"profiles\.main\.key_file is not set"):
        Profile.create("main", key_id="k", source=source).check_key_file()


# -- paths -------------------------------------------------------------------------------------


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cfg.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert config_path(None) == tmp_path / "xdg" / "kalshi-tui" / "config.toml"
    else:
        assert config_path(None).name == "config.toml"
    monkeypatch.setenv(cfg.ENV_VAR, str(tmp_path / "env.toml"))
    assert config_path(None) == tmp_path / "env.toml"
    assert config_path(str(tmp_path / "flag.toml")) == tmp_path / "flag.toml"
    assert config_path("~/x.toml") == Path.home() / "x.toml"


# -- writing -----------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_round_trip_of_a_full_profile(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    profile = Profile.create(
        "desk",
        "demo",
        ws_url="wss://demo-api.kalshi.co/trade-api/ws/v2",
        key_id="id-1",
        key_file=tmp_path / "key.pem",
        watchlists={"fed": ["A-1", "B-2"], "empty": []},
        theme="mono",
        refresh_rate=2.5,
        bindings={"quit": "ctrl+q", "next_tab": "]"},
        stream=StreamSettings(backoff_base=1.0, buffer_size=20, commands_per_second=3.5),
        source=path,
    )
    written = write_profile(path, profile, make_default=True)
    assert written.default_profile == "desk"
    loaded = load_config(path)
    assert loaded == written
    assert loaded.profile() == profile
    assert loaded.profile().rest_url == ENDPOINTS["demo"][1]
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    # Re-saving what was read changes nothing.
    before = path.read_bytes()
    save_config(loaded)
    assert path.read_bytes() == before


def test_hand_written_file_round_trips(tmp_path: Path) -> None:
    original = load_config(_write(tmp_path / "config.toml", FULL))
    save_config(original, tmp_path / "copy.toml")
    copy = load_config(tmp_path / "copy.toml")
    assert copy.profiles == original.profiles
    assert copy.default_profile == "main"
    text = (tmp_path / "copy.toml").read_text()
    assert "ws_url" not in text.split("[profiles.sim]")[0]  # default URLs stay implicit


def test_key_file_under_home_is_written_with_tilde(tmp_path: Path) -> None:
    profile = Profile.create("main", key_file=Path.home() / ".kalshi" / "k.pem")
    save_config(Config(tmp_path / "c.toml").with_profile(profile))
    assert 'key_file = "~/.kalshi/k.pem"' in (tmp_path / "c.toml").read_text()


def test_write_profile_keeps_other_profiles(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.toml", FULL)
    path.chmod(0o644)
    new = Profile.create("extra", "prod", key_id="x")
    config = write_profile(path, new)
    assert list(config.profiles) == ["main", "sim", "extra"]
    assert config.default_profile == "main"  # not asked to change it
    again = load_config(path)
    assert again.profile("sim") == load_config(_write(tmp_path / "orig.toml", FULL)).profile("sim")
    assert again.profile("extra").key_id == "x"
    assert _mode(path) == 0o600  # tightened on rewrite

    write_profile(path, new, make_default=True)
    assert load_config(path).default_profile == "extra"


def test_first_profile_becomes_the_default(tmp_path: Path) -> None:
    config = write_profile(tmp_path / "c.toml", Profile.create("desk"))
    assert config.default_profile == "desk"
    assert load_config(tmp_path / "c.toml").profile().name == "desk"


def test_write_profile_refuses_to_clobber_a_broken_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.toml", "[profiles.main]\nrefresh_rate = = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        write_profile(path, Profile.create("x"))
    assert path.read_text() == "[profiles.main]\nrefresh_rate = = 1\n"


def test_symlinked_config_is_written_through_the_link(tmp_path: Path) -> None:
    real = _write(tmp_path / "dotfiles.toml", "[profiles.a]\n")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    write_profile(link, Profile.create("b"))
    assert link.is_symlink()
    assert list(load_config(real).profiles) == ["a", "b"]


def test_failed_replace_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "config.toml", FULL)

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cfg.os, "replace", crash)
    with pytest.raises(ConfigError, match=r"cannot write the config file \(No space left on device\)"):
        write_profile(path, Profile.create("extra"))
    assert path.read_text() == textwrap.dedent(FULL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


KILL_MID_WRITE = """
import os, signal, sys
from kalshi_tui import config as cfg

def die(fd):
    # The new content is in the temp file but not yet renamed: the worst moment to die.
    os.kill(os.getpid(), signal.SIGKILL)

cfg.os.fsync = die
cfg.write_profile(sys.argv[1], cfg.Profile.create("extra", key_id="new"), make_default=True)
"""


def test_killed_mid_write_leaves_the_old_file_intact(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.toml", FULL)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
    }
    result = subprocess.run(
        [sys.executable, "-c", KILL_MID_WRITE, str(path)], env=env, capture_output=True, timeout=GUARD
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    assert path.read_text() == textwrap.dedent(FULL)
    assert list(load_config(path).profiles) == ["main", "sim"]
    leftovers = [p for p in tmp_path.iterdir() if p.name != "config.toml"]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".config.toml.")
    assert _mode(leftovers[0]) == 0o600  # even the orphan never held the data world-readable


@pytest.mark.parametrize("step", ["write", "fsync"])
def test_full_disk_is_one_sentence_and_the_old_file_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    path = _write(tmp_path / "config.toml", FULL)

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cfg.os, step, full)
    with pytest.raises(ConfigError) as raised:
        write_profile(path, Profile.create("extra"))
    assert str(raised.value) == (
        f"{path}: cannot write the config file (No space left on device): "
        "free some disk space and try again (the old file is unchanged)"
    )
    assert path.read_text() == textwrap.dedent(FULL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


# -- watchlist edits keep the user's file as they wrote it ---------------------------------------

HAND_WRITTEN = """\
# My Kalshi settings -- edited by hand, please keep my notes.
default_profile   =   "main"      # the one I use

[profiles.main]
environment = "demo"     # practice first
key_id      = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"
refresh_rate=4
    # the groups are tabs, in this order
[profiles.main.watchlists]
fed  = [ "KXFED-A",   "KXFED-B" ]   # rates
misc = [
    "X-1",  # first
    "X-2",
]

[profiles.other]   # not touched by edits to main
environment="prod"
theme = 'kalshi-light'
"""


def _changed_lines(before: str, after: str) -> list[str]:
    import difflib

    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_watchlist_edit_changes_only_that_list(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.toml", HAND_WRITTEN)
    before = path.read_text()
    profile = load_config(path).profile()
    # What the app's `a` key saves through the launch callback: write_profile(path, changed).
    write_profile(path, profile.with_market("fed", "KXFED-C"))
    after = path.read_text()
    assert _changed_lines(before, after) == [
        '-fed  = [ "KXFED-A",   "KXFED-B" ]   # rates',
        '+fed  = [ "KXFED-A",   "KXFED-B",   "KXFED-C" ]   # rates',
    ]
    assert _mode(path) == 0o600
    # `d` on a multi-line list drops just that line, comment and all.
    write_profile(path, load_config(path).profile().without_market("misc", "X-1"))
    assert _changed_lines(after, path.read_text()) == ['-    "X-1",  # first']
    assert load_config(path).profile().watchlists == {
        "fed": ("KXFED-A", "KXFED-B", "KXFED-C"),
        "misc": ("X-2",),
    }
    assert load_config(path).profile("other").theme == "kalshi-light"


def test_a_new_group_is_added_and_the_rest_of_the_file_kept(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.toml", HAND_WRITTEN)
    before = path.read_text()
    write_profile(path, load_config(path).profile().with_market("crypto", "kxbtc-1"))
    assert _changed_lines(before, path.read_text()) == ['+crypto = ["KXBTC-1"]']


def test_a_file_changed_on_disk_meanwhile_is_still_merged(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.toml", HAND_WRITTEN)
    stale = load_config(path).profile()
    with path.open("a") as fh:
        fh.write('\n[profiles.late]\nenvironment = "demo"\n')
    write_profile(path, stale.with_market("fed", "KXFED-C"))
    config = load_config(path)
    assert list(config.profiles) == ["main", "other", "late"]
    assert "# My Kalshi settings" in path.read_text()


def test_lowercase_tickers_are_upper_cased(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "config.toml", '[profiles.main.watchlists]\nfed = ["kxfed-a", "KXFED-A", "Kxfed-b"]\n'
    )
    assert load_config(path).profile().watchlists == {"fed": ("KXFED-A", "KXFED-B")}
    p = Profile.create("main", watchlists={"x": ["ab-1"]}).with_market("x", "cd-2")
    assert p.watchlists == {"x": ("AB-1", "CD-2")}


# -- helpers for the UI ------------------------------------------------------------------------


def test_watchlist_helpers(tmp_path: Path) -> None:
    p = Profile.create("main", watchlists={"fed": ["A", "B"]})
    added = p.with_market("fed", "C").with_market("fed", "A").with_market("new", "Z")
    assert added.watchlists == {"fed": ("A", "B", "C"), "new": ("Z",)}
    assert added.tickers == ("A", "B", "C", "Z")
    assert p.watchlists == {"fed": ("A", "B")}  # the original is untouched
    removed = added.without_market("fed", "B").without_market("missing", "A")
    assert removed.watchlists == {"fed": ("A", "C"), "new": ("Z",)}
    assert removed.without_watchlist("fed").watchlists == {"new": ("Z",)}
    assert p.with_watchlist("fed", ["Q", "Q", "R"]).watchlists == {"fed": ("Q", "R")}
    rebound = p.with_binding("quit", "ctrl+q").with_binding("help", "f1")
    assert rebound.bindings == {"quit": "ctrl+q", "help": "f1"}
    assert rebound.with_binding("quit", None).bindings == {"help": "f1"}

    path = tmp_path / "config.toml"
    write_profile(path, added)
    assert load_config(path).profile().watchlists == {"fed": ("A", "B", "C"), "new": ("Z",)}


def test_create_validates_like_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"profiles\.main\.refresh_rate = 100\.0 is out of range"):
        Profile.create("main", refresh_rate=100, source=tmp_path / "c.toml")
    with pytest.raises(ConfigError, match=r"profiles\.main\.ws_url is missing"):
        Profile.create("main", "custom")


def test_profile_is_hashable_and_frozen() -> None:
    p = Profile.create("main", watchlists={"a": ["X"]})
    assert hash(p) == hash(Profile.create("main", watchlists={"a": ["X"]}))
    with pytest.raises(AttributeError):
        p.theme = "other"  # type: ignore[misc]


def test_import_is_light() -> None:
    code = (
        "import sys, kalshi_tui.config; "
        "print(sorted(m for m in ('textual', 'cryptography', 'tomli_w', 'tomlkit', 'platformdirs') "
        "if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=GUARD, check=True
    ).stdout
    assert out.strip() == "[]"


def test_flash_setting_round_trips_and_rejects_non_booleans(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.toml", "[profiles.main]\nflash = false\n")
    profile = load_config(path).profile()
    assert profile.flash is False
    cfg.save_config(load_config(path), path)
    assert "flash = false" in path.read_text()
    assert load_config(path).profile().flash is False
    bad = _write(tmp_path / "bad.toml", '[profiles.main]\nflash = "no"\n')
    err = _error(bad)
    assert "profiles.main.flash" in str(err) and "\n" not in str(err)


def test_timezone_defaults_to_local_round_trips_and_rejects_unknown_zones(tmp_path: Path) -> None:
    assert Profile.create("main").timezone == "local"
    path = _write(tmp_path / "config.toml", '[profiles.main]\ntimezone = "US/Eastern"\n')
    assert load_config(path).profile().timezone == "US/Eastern"
    cfg.save_config(load_config(path), path)
    assert 'timezone = "US/Eastern"' in path.read_text()
    bad = _write(tmp_path / "bad.toml", '[profiles.main]\ntimezone = "Mars/Olympus"\n')
    err = str(_error(bad))
    assert "profiles.main.timezone" in err and "US/Eastern" in err and "\n" not in err


def test_rest_budget_is_a_setting_with_kalshis_basic_tier_by_default(tmp_path: Path) -> None:
    assert Profile.create("main").rest.reads_per_second == 20.0
    path = _write(tmp_path / "config.toml", "[profiles.main.rest]\nreads_per_second = 30.0\n")
    assert load_config(path).profile().rest.reads_per_second == 30.0
    cfg.save_config(load_config(path), path)
    assert load_config(path).profile().rest.reads_per_second == 30.0
    for text in ("reads_per_second = 0.0", "reads_per_second = true", "per_second = 5.0"):
        err = str(_error(_write(tmp_path / "bad.toml", f"[profiles.main.rest]\n{text}\n")))
        assert "profiles.main.rest" in err and "\n" not in err


def test_tickers_typed_on_a_command_line_are_upper_cased_once_each() -> None:
    from kalshi_tui.config import tickers_from_text

    assert tickers_from_text(" kxfed-26dec-h0, KXB-1,,kxfed-26DEC-h0 ,") == ["KXFED-26DEC-H0", "KXB-1"]
