"""The command line end to end: real subprocesses, a real config file and a real key."""

from __future__ import annotations

import argparse
import builtins
import errno
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kalshi_tui import config as config_module
from kalshi_tui import config_cli
from kalshi_tui.auth import generate_key, write_private_key
from kalshi_tui.cli import build_parser, main
from kalshi_tui.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ("run", "demo", "init", "config", "sim", "tail", "check", "export", "alerts", "replay")


def _env(config: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KALSHI_TUI_CONFIG"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    if config is not None:
        env["KALSHI_TUI_CONFIG"] = str(config)
    return env


def kalshi(
    *args: str, config: Path | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kalshi_tui", *args],
        env=_env(config),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture()
def key_file(tmp_path: Path) -> Path:
    return write_private_key(generate_key(), tmp_path / "kalshi.pem")


def _pem_body(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and "-----" not in line]


def test_help_lists_every_command() -> None:
    result = kalshi("--help")
    assert result.returncode == 0, result.stderr
    listed = set(re.findall(r"^ {4}(\w+)\s", result.stdout, re.MULTILINE))
    assert listed == set(COMMANDS)
    assert "--config" in result.stdout and "--profile" in result.stdout


def test_init_then_show(tmp_path: Path, key_file: Path) -> None:
    config = tmp_path / "cfg" / "config.toml"
    result = kalshi(
        "init",
        "--yes",
        "--env",
        "demo",
        "--key-id",
        "id-123",
        "--key-file",
        str(key_file),
        "--watchlist",
        "fed=KXFED-A,KXFED-B",
        "--watchlist",
        "misc=X",
        "--refresh-rate",
        "5",
        config=config,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote profile 'main' (default profile) to {config}\n"
    assert result.stderr == ""  # the key is there and private: nothing to warn about
    assert config.stat().st_mode & 0o777 == 0o600

    written = tomllib.loads(config.read_text())
    assert written["default_profile"] == "main"
    assert written["profiles"]["main"]["key_file"] == str(key_file)
    assert written["profiles"]["main"]["watchlists"] == {"fed": ["KXFED-A", "KXFED-B"], "misc": ["X"]}

    shown = kalshi("config", "show", config=config)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == f"# profile 'main' (default) from {config}"
    body = tomllib.loads(shown.stdout)
    assert body["environment"] == "demo"
    assert body["ws_url"] == "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2"
    assert body["key_id"] == "id-123"
    assert body["key_file"] == str(key_file)
    assert body["refresh_rate"] == 5.0
    assert body["watchlists"]["fed"] == ["KXFED-A", "KXFED-B"]
    assert body["stream"]["buffer_size"] == 10_000
    assert shown.stderr == ""
    for output in (result.stdout, shown.stdout, shown.stderr, config.read_text()):
        assert "PRIVATE KEY" not in output
        for line in _pem_body(key_file):
            assert line not in output


def test_second_init_adds_a_profile_and_keeps_the_first(tmp_path: Path, key_file: Path) -> None:
    config = tmp_path / "config.toml"
    assert (
        kalshi("init", "--yes", "--key-id", "a", "--key-file", str(key_file), config=config).returncode == 0
    )
    sim = kalshi(
        "--profile",
        "sim",
        "init",
        "--yes",
        "--default",
        "--ws-url",
        "ws://127.0.0.1:8765/trade-api/ws/v2",
        "--rest-url",
        "http://127.0.0.1:8765/trade-api/v2",
        config=config,
    )
    assert sim.returncode == 0, sim.stderr
    assert "profiles.sim.key_id is not set" in sim.stderr  # warned, not refused
    loaded = load_config(config)
    assert loaded.default_profile == "sim"
    assert loaded.profile("sim").environment == "custom"  # two URLs and no --env
    assert loaded.profile("main").key_id == "a"

    # --config wins over the environment variable.
    other = tmp_path / "other.toml"
    shown = subprocess.run(
        [sys.executable, "-m", "kalshi_tui", "--config", str(config), "--profile", "main", "config", "show"],
        env=_env(other),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert f"from {config}" in shown.stdout
    assert not other.exists()


def test_relative_key_file_is_stored_absolute(tmp_path: Path, key_file: Path) -> None:
    config = tmp_path / "conf" / "config.toml"
    result = kalshi(
        "init", "--yes", "--key-id", "a", "--key-file", key_file.name, config=config, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert load_config(config).profile().key_file == key_file


def test_show_warns_about_an_exposed_key(tmp_path: Path, key_file: Path) -> None:
    config = tmp_path / "config.toml"
    assert (
        kalshi("init", "--yes", "--key-id", "a", "--key-file", str(key_file), config=config).returncode == 0
    )
    key_file.chmod(0o644)
    shown = kalshi("config", "show", config=config)
    assert shown.returncode == 0
    assert shown.stderr == (
        f"warning: {config}: profiles.main.key_file: key file {key_file} is "
        f"readable by others: run chmod 600 {key_file}: fix the permissions\n"
    )


@pytest.mark.parametrize(
    "args, text, fragment",
    [
        (
            ("config", "show"),
            '[profiles.main]\nenvironment = "staging"\n',
            "profiles.main.environment = 'staging' is not one of prod, demo, custom",
        ),
        (("config", "show"), "[profiles.main]\nrefresh_rate = = 1\n", "line 2"),
        (("init", "--yes"), '[profiles.main]\ncolour = "red"\n', "profiles.main.colour"),
        (("--profile", "nope", "config", "show"), "[profiles.main]\n", "no profile 'nope'"),
        (("init", "--yes", "--refresh-rate", "500"), "", "profiles.main.refresh_rate = 500.0"),
        (("init", "--yes", "--watchlist", "oops"), "", "--watchlist 'oops': expected NAME="),
    ],
)
def test_bad_config_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], text: str, fragment: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    result = kalshi(*args, config=config)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("kalshi-tui: ")
    assert "Traceback" not in result.stderr
    assert fragment in result.stderr
    assert config.read_text() == text  # a failed command never rewrites the file


# -- interactive init (in-process: questions come from input()) ---------------------------------


class _Tty:
    def isatty(self) -> bool:
        return True


@pytest.fixture()
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    queue: list[str] = []
    asked: list[str] = []

    def fake_input(prompt: str = "") -> str:
        asked.append(prompt)
        return queue.pop(0)

    monkeypatch.setattr(sys, "stdin", _Tty())
    monkeypatch.setattr(builtins, "input", fake_input)
    yield queue
    assert not queue, f"unasked answers left: {queue}; asked {asked}"


def _init_args(config: Path, *argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["--config", str(config), "init", *argv])


def test_interactive_init_asks_for_what_is_missing(
    tmp_path: Path, key_file: Path, answers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    answers += ["", "demo", "id-9", str(key_file), "kxfed-a, KXFED-B"]
    assert config_cli.init(_init_args(config)) == 0
    profile = load_config(config).profile()
    assert (profile.environment, profile.key_id, profile.key_file) == ("demo", "id-9", key_file)
    assert profile.watchlists == {"markets": ("KXFED-A", "KXFED-B")}
    assert capsys.readouterr().out == f"wrote profile 'main' (default profile) to {config}\n"


def test_interactive_init_reasks_a_bad_environment(
    tmp_path: Path, answers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    # default name, bad env, then defaults: prod, no key id, no key file, no watchlist
    answers += ["", "staging", "", "", "", ""]
    assert config_cli.init(_init_args(config)) == 0
    assert load_config(config).profile().environment == "prod"
    assert "please answer one of prod, demo, custom" in capsys.readouterr().err


def test_yes_never_asks(tmp_path: Path, answers: list[str]) -> None:
    config = tmp_path / "config.toml"
    assert config_cli.init(_init_args(config, "--yes", "--env", "demo")) == 0
    assert load_config(config).profile().key_id is None


def test_init_reports_a_file_that_is_not_a_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    junk.chmod(0o600)
    config = tmp_path / "config.toml"
    args = _init_args(config, "--yes", "--key-id", "a", "--key-file", str(junk))
    assert config_cli.init(args) == 0
    assert capsys.readouterr().err == (
        f"warning: key file {junk} is not a PEM RSA private key (PKCS#1 or PKCS#8)\n"
    )


def test_show_without_a_config(tmp_path: Path) -> None:
    args = build_parser().parse_args(["--config", str(tmp_path / "none.toml"), "config", "show"])
    with pytest.raises(ConfigError, match="no profiles yet: run kalshi-tui init"):
        config_cli.show(args)


# -- init where the file can't be written: one sentence, the old file intact --------------------

OLD_CONFIG = '# mine\n[profiles.main]\nenvironment = "demo"\nkey_id = "old"\n'


def _init_fails_cleanly(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["--config", str(config), "init", "--yes", "--key-id", "new"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert config.read_text() == OLD_CONFIG
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml"]
    return err.rstrip("\n")


@pytest.mark.parametrize("step", ["write", "fsync"])
def test_init_on_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], step: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(OLD_CONFIG)

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(config_module.os, step, full)
    assert _init_fails_cleanly(config, capsys) == (
        f"kalshi-tui: {config}: cannot write the config file (No space left on device): "
        "free some disk space and try again (the old file is unchanged)"
    )


def test_init_on_a_read_only_filesystem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(OLD_CONFIG)
    real_open = os.open

    def read_only(path: object, flags: int, *args: object) -> int:
        if flags & os.O_CREAT:  # what a read-only mount says to any new file
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(config_module.os, "open", read_only)
    line = _init_fails_cleanly(config, capsys)
    assert line.startswith(f"kalshi-tui: {config}: cannot write the config file (Read-only file system): ")


@pytest.fixture()
def locked_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder no one may create files in: chmod for users; root ignores that, so chattr +i."""
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "config.toml").write_text(OLD_CONFIG)
    if os.geteuid() != 0:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
        pytest.skip("running as root and chattr +i is not available here")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_init_into_a_folder_that_cannot_be_written(
    locked_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _init_fails_cleanly(locked_folder / "config.toml", capsys)
    assert line.startswith(f"kalshi-tui: {locked_folder / 'config.toml'}: cannot write the config file (")
    assert line.endswith("check the folder's permissions or point --config at a writable place")


# -- init for a new user: name, watchlist, derived REST URL, a key file that exists ------------


@pytest.fixture()
def prompts(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[list[str], list[str]]]:
    """(answers to give, questions asked) for interactive init."""
    queue: list[str] = []
    asked: list[str] = []

    def fake_input(prompt: str = "") -> str:
        asked.append(prompt)
        return queue.pop(0)

    monkeypatch.setattr(sys, "stdin", _Tty())
    monkeypatch.setattr(builtins, "input", fake_input)
    yield queue, asked
    assert not queue, f"unasked answers left: {queue}; asked {asked}"


def test_interactive_init_asks_the_profile_name_and_a_named_watchlist(
    tmp_path: Path, key_file: Path, prompts: tuple[list[str], list[str]]
) -> None:
    config = tmp_path / "config.toml"
    queue, asked = prompts
    queue += ["desk", "prod", "id-1", str(key_file), "fed=kxfed-a,kxfed-b"]
    assert config_cli.init(_init_args(config)) == 0
    profile = load_config(config).profile("desk")
    assert profile.watchlists == {"fed": ("KXFED-A", "KXFED-B")}
    assert asked[0] == "Profile name [main]: "
    assert asked[-1].startswith("Markets to watch")


def test_interactive_init_derives_the_rest_url_from_a_custom_ws_url(
    tmp_path: Path, prompts: tuple[list[str], list[str]]
) -> None:
    config = tmp_path / "config.toml"
    queue, asked = prompts
    queue += ["", "custom", "wss://ex.example/trade-api/ws/v2", "", "", "", ""]
    assert config_cli.init(_init_args(config)) == 0
    assert asked[3] == "REST base URL [https://ex.example/trade-api/v2]: "
    profile = load_config(config).profile()
    assert (profile.ws_url, profile.rest_url) == (
        "wss://ex.example/trade-api/ws/v2",
        "https://ex.example/trade-api/v2",
    )


def test_init_with_only_a_ws_url_is_custom_with_the_rest_url_beside_it(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    assert (
        main(["init", "--config", str(config), "--yes", "--ws-url", "ws://10.0.0.5:9000/trade-api/ws/v2"])
        == 0
    )
    profile = load_config(config).profile()
    assert profile.environment == "custom"
    assert profile.rest_url == "http://10.0.0.5:9000/trade-api/v2"


def test_interactive_init_reasks_a_bad_url_and_a_missing_or_pasted_key_file(
    tmp_path: Path, key_file: Path, prompts: tuple[list[str], list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    queue, _ = prompts
    pasted = "-----BEGIN PRIVATE KEY-----\nMIIEsecretbody\n-----END PRIVATE KEY-----"
    queue += ["", "custom", "ws://h:99999/x", "ws://h:9/trade-api/ws/v2", ""]
    queue += ["id", str(tmp_path / "typo.pem"), pasted, str(key_file), ""]
    assert config_cli.init(_init_args(config)) == 0
    err = capsys.readouterr().err
    assert "that URL has a port that is not a number from 1 to 65535" in err
    assert f"no file at {tmp_path / 'typo.pem'}" in err
    assert "that is key contents, not a path" in err and "secretbody" not in err
    assert load_config(config).profile().key_file == key_file


def test_init_refuses_a_key_file_that_does_not_exist_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    missing = tmp_path / "nope.pem"
    argv = ["--config", str(config), "init", "--yes", "--key-id", "k", "--key-file", str(missing)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"kalshi-tui: --key-file {missing} does not exist: "
        "check the path, or pass --force to write the profile anyway\n"
    )
    assert not config.exists()
    assert main([*argv, "--force"]) == 0
    assert load_config(config).profile().key_file == missing


@pytest.mark.parametrize("env", ["prod", "demo"])
def test_init_refuses_kalshis_environment_with_a_custom_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], env: str
) -> None:
    config = tmp_path / "config.toml"
    argv = ["--config", str(config), "init", "--yes", "--env", env, "--ws-url", "wss://other.example/ws"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"kalshi-tui: --env {env} uses Kalshi's own URLs, so --ws-url is refused: "
        "drop --ws-url, or use --env custom for another exchange\n"
    )
    assert not config.exists()


def test_init_watchlist_flag_upper_cases_tickers(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    assert main(["--config", str(config), "init", "--yes", "--watchlist", "fed=kxfed-a, Kxfed-b"]) == 0
    assert load_config(config).profile().watchlists == {"fed": ("KXFED-A", "KXFED-B")}


# -- --config and --profile work after the command too ------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "C", "--profile", "P", "tail"],
        ["tail", "--config", "C", "--profile", "P"],
        ["--config", "X", "--profile", "Y", "tail", "--config", "C", "--profile", "P"],
        ["demo", "--config", "C", "--profile", "P"],
        ["run", "--config", "C", "--profile", "P"],
        ["init", "--config", "C", "--profile", "P"],
        ["config", "show", "--config", "C", "--profile", "P"],
    ],
)
def test_config_and_profile_are_accepted_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.config, args.profile) == ("C", "P")


def test_values_before_the_command_survive_a_command_without_them() -> None:
    args = build_parser().parse_args(["--config", "C", "tail", "--profile", "P"])
    assert (args.config, args.profile) == ("C", "P")
    args = build_parser().parse_args(["tail"])
    assert (args.config, args.profile) == (None, None)


def test_config_show_with_options_after_the_command(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'default_profile = "a"\n[profiles.a]\nkey_id = "1"\n'
        f'[profiles.b]\nkey_id = "2"\nkey_file = "{key_file}"\n'
    )
    assert main(["config", "show", "--config", str(config), "--profile", "b"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# profile 'b' from {config}\n") and 'key_id = "2"' in out
