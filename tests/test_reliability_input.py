"""Bad user input: one clear sentence and an exit code (subprocess), or an error on the
Connection tab (``store.metrics.last_errors``) while the rest keeps working.

Already covered elsewhere and not repeated here: bad TOML and bad settings, unknown
profile (tests/test_config.py, tests/test_cli.py), a missing key file and a key the
exchange refuses (tests/test_tail.py), key parsing and passphrases in-process
(tests/test_auth.py), a world-readable key in ``config show`` (tests/test_cli.py), the
simulator's port in use (tests/test_sim_cli.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bench.soak import SOAK_SETTINGS, client, exact_now
from bench.waiting import GUARD, until
from kalshi_tui.auth import Signer, write_private_key
from kalshi_tui.cli import main
from kalshi_tui.errors import AuthRejected
from kalshi_tui.sim import Simulator
from kalshi_tui.store import Store
from kalshi_tui.stream import Pool

REPO = Path(__file__).resolve().parents[1]
UNKNOWN = "KXNOPE-26DEC31-X"


def kalshi(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_TUI_")}
    base["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), base.get("PYTHONPATH")) if p)
    base["KALSHI_TUI_CONFIG"] = "/nonexistent/kalshi-tui/config.toml"
    return subprocess.run(
        [sys.executable, "-m", "kalshi_tui", *args],
        env=base | (env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The run failed with ``code`` and said so in exactly one line, and nothing else."""
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kalshi-tui: "), result.stderr
    return lines[0]


def _tail_args(key_file: Path) -> list[str]:
    return [
        "tail",
        "--ws-url",
        "ws://127.0.0.1:9/trade-api/ws/v2",
        "--key-id",
        "k",
        "--key-file",
        str(key_file),
        "--markets",
        "A",
        "--count",
        "1",
    ]


# -- key files, through the real command line ---------------------------------------------------


def test_world_readable_key_file_is_refused_with_the_fix(
    tmp_path: Path, sim_private_key: rsa.RSAPrivateKey
) -> None:
    key = write_private_key(sim_private_key, tmp_path / "k.pem")
    key.chmod(0o644)
    line = one_line(kalshi(*_tail_args(key)), 2)
    assert line == f"kalshi-tui: key file {key} is readable by others: run chmod 600 {key}"


def test_key_path_that_is_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    line = one_line(kalshi(*_tail_args(folder)), 2)
    assert line == f"kalshi-tui: key file {folder} is not a regular file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file anyway")
def test_unreadable_key_file(tmp_path: Path, sim_private_key: rsa.RSAPrivateKey) -> None:
    key = write_private_key(sim_private_key, tmp_path / "k.pem")
    key.chmod(0o000)
    line = one_line(kalshi(*_tail_args(key)), 2)
    assert line == f"kalshi-tui: cannot read key file {key}: Permission denied"


@pytest.mark.parametrize(
    "passphrase, said",
    [
        ("not-the-passphrase", "wrong passphrase for key file {key}"),
        (None, "key file {key} is encrypted: a passphrase is needed"),
    ],
)
def test_encrypted_key_with_a_wrong_or_no_passphrase(
    tmp_path: Path, sim_private_key: rsa.RSAPrivateKey, passphrase: str | None, said: str
) -> None:
    key = write_private_key(sim_private_key, tmp_path / "k.pem", passphrase=b"correct horse")
    env = {"KALSHI_TUI_KEY_PASSPHRASE": passphrase} if passphrase else {}
    line = one_line(kalshi(*_tail_args(key), env=env), 2)
    assert line == "kalshi-tui: " + said.format(key=key)
    assert "correct horse" not in line


def test_profile_naming_a_missing_key_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    gone = tmp_path / "gone.pem"
    config.write_text(
        f'[profiles.main]\nkey_id = "k"\nkey_file = "{gone}"\n[profiles.main.watchlists]\nfed = ["A"]\n'
    )
    line = one_line(kalshi("tail", "--count", "1", env={"KALSHI_TUI_CONFIG": str(config)}), 2)
    assert line == (
        f"kalshi-tui: {config}: profiles.main.key_file: key file not found: {gone}: "
        "fix the path (kalshi-tui init --key-file PATH)"
    )


# -- at the exchange: a skewed clock, an unknown market -----------------------------------------


@pytest.mark.parametrize("skew", [-300.0, 300.0])
async def test_clock_skew_is_named_in_the_401_sentence(skew: float) -> None:
    async with Simulator(seed=41, rate=10, markets=4) as sim:
        assert sim.signer is not None
        skewed = Signer(sim.key_id, sim.signer._key, clock=lambda: time.time() + skew)
        store = Store()
        pool = Pool(sim.ws_url, skewed, store, SOAK_SETTINGS, markets=sim.tickers)
        with pytest.raises(AuthRejected) as info:
            await asyncio.wait_for(pool.run(), GUARD)
    sentence = str(info.value)
    assert "401" in sentence and "\n" not in sentence
    said = re.search(r"clock is ([+-]\d+(?:\.\d+)?) s off", sentence)
    assert said, sentence
    # The exchange's clock minus ours: ours runs `skew` ahead, so it is -skew (±2 s for the
    # Date header's whole seconds and the round trip).
    assert abs(float(said.group(1)) + skew) < 2, sentence
    assert abs((store.metrics.clock_offset or 0) + skew) < 2
    assert store.metrics.last_errors[-1].sentence == sentence


async def test_unknown_market_in_the_watchlist_is_reported_and_the_rest_keeps_working() -> None:
    async with Simulator(seed=42, rate=400, markets=8, lifecycle_rate=0) as sim:
        known = sim.tickers[:3]
        async with client(sim, [*known, UNKNOWN], SOAK_SETTINGS, rest=False) as (store, pool):
            await until(lambda: store.metrics.errors_by_code[16] > 0, "error 16")
            errors = [e for e in store.metrics.last_errors if e.code == 16]
            assert errors[0].sentence == "The exchange has no market with that ticker."
            assert UNKNOWN in errors[0].detail
            assert await exact_now(sim, store, known) is not None
            assert UNKNOWN not in pool.markets
            sim.resume()
            # The same through a live edit: the good market of the two is added.
            before = store.metrics.errors_by_code[16]
            await pool.add_markets([sim.tickers[3], UNKNOWN + "2"])
            await until(lambda: store.metrics.errors_by_code[16] > before, "another error 16")
            assert await exact_now(sim, store, [*known, sim.tickers[3]]) is not None, (
                "the known market of a refused add_markets never got a book"
            )
            assert set(pool.markets) == {*known, sim.tickers[3]}


async def test_a_watchlist_of_unknown_markets_only_still_takes_a_good_one_later() -> None:
    async with (
        Simulator(seed=43, rate=400, markets=6, lifecycle_rate=0) as sim,
        client(sim, [UNKNOWN], SOAK_SETTINGS, rest=False) as (store, pool),
    ):
        await until(lambda: store.metrics.errors_by_code[16] > 0, "error 16")
        assert pool.markets == []
        await pool.add_markets([sim.tickers[0]])
        assert await exact_now(sim, store, [sim.tickers[0]]) is not None


# -- bad paths and URLs on the command line: one sentence, in-process through cli.main ---------


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """cli.main with ``argv``; returns (exit code, the one stderr line) and checks it is one."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kalshi-tui: "), err
    return code, lines[0]


@pytest.fixture()
def no_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "absent" / "config.toml"
    monkeypatch.setenv("KALSHI_TUI_CONFIG", str(path))
    return path


@pytest.mark.parametrize("where", ["missing-folder", "directory"])
def test_debug_log_that_cannot_be_written_is_one_sentence(
    tmp_path: Path, no_config: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    target = tmp_path / "nope" / "debug.log" if where == "missing-folder" else tmp_path
    code, line = run_main(capsys, "--debug-log", str(target), "config", "show")
    assert code == 2
    assert line.startswith(f"kalshi-tui: --debug-log {target}: cannot write the log (")


BAD_WS_URLS = [
    ("http://h/x", "is not a WebSocket URL"),
    ("garbage", "is not a WebSocket URL"),
    ("ws://[::1", "is not a valid URL"),
    ("ws://h:99999/trade-api/ws/v2", "has a port that is not a number from 1 to 65535"),
    ("ws://h:0/trade-api/ws/v2", "has a port that is not a number from 1 to 65535"),
    ("ws:///trade-api/ws/v2", "has no host name"),
]


@pytest.mark.parametrize("url, said", BAD_WS_URLS)
def test_bad_ws_url_on_tail_is_one_sentence(
    tmp_path: Path,
    sim_private_key: rsa.RSAPrivateKey,
    capsys: pytest.CaptureFixture[str],
    url: str,
    said: str,
) -> None:
    key = write_private_key(sim_private_key, tmp_path / "k.pem")
    argv = ["tail", "--ws-url", url, "--key-id", "k", "--key-file", str(key), "--markets", "A"]
    code, line = run_main(capsys, *argv)
    assert code == 2
    assert line.startswith(f"kalshi-tui: --ws-url {url!r} {said}: use a URL starting with ws:// or wss://")


@pytest.mark.parametrize("url, said", BAD_WS_URLS)
def test_bad_ws_url_in_init_is_one_sentence_and_nothing_is_written(
    no_config: Path, capsys: pytest.CaptureFixture[str], url: str, said: str
) -> None:
    code, line = run_main(capsys, "init", "--yes", "--env", "custom", "--ws-url", url)
    assert code == 2
    assert line.startswith(f"kalshi-tui: --ws-url {url!r} {said}")
    assert not no_config.exists()


@pytest.mark.parametrize("url", ["ftp://h/x", "https://h:70000/trade-api/v2", "http://[::1/x"])
def test_bad_rest_url_is_one_sentence(
    tmp_path: Path, sim_private_key: rsa.RSAPrivateKey, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    key = write_private_key(sim_private_key, tmp_path / "k.pem")
    argv = ["tail", "--ws-url", "ws://127.0.0.1:9/trade-api/ws/v2", "--rest-url", url]
    code, line = run_main(capsys, *argv, "--key-id", "k", "--key-file", str(key), "--markets", "A")
    assert code == 2
    assert line.startswith(f"kalshi-tui: --rest-url {url!r} ")


def test_bad_url_in_the_config_file_names_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[profiles.main]\nenvironment = "custom"\nws_url = "ws://[::1"\nrest_url = "http://h/x"\n'
    )
    code, line = run_main(capsys, "--config", str(config), "config", "show")
    assert code == 2
    assert line.startswith(f"kalshi-tui: {config}: profiles.main.ws_url = 'ws://[::1' is not a valid URL")


# -- a private key pasted where a path goes: refused, never echoed ------------------------------


@pytest.fixture()
def pem_text(sim_private_key: rsa.RSAPrivateKey, tmp_path: Path) -> str:
    return write_private_key(sim_private_key, tmp_path / "pasted.pem").read_text()


def _no_key_in(text: str, pem: str) -> None:
    for line in pem.splitlines():
        if line and "-----" not in line:
            assert line not in text
    assert "BEGIN" not in text


def test_pasted_key_as_tail_key_file_is_refused_unechoed(
    pem_text: str, no_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["tail", "--ws-url", "ws://127.0.0.1:9/trade-api/ws/v2", "--key-id", "k", "--key-file", pem_text]
    code = main([*argv, "--markets", "A"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err == (
        "kalshi-tui: --key-file holds key contents, not a path: save the key to a file (chmod 600) "
        "and pass its path; treat the pasted key as exposed\n"
    )
    _no_key_in(out + err, pem_text)


@pytest.mark.parametrize(
    "argv",
    [
        ["init", "--yes", "--key-id", "k", "--key-file", "{pem}"],
        ["--config", "{pem}", "config", "show"],
        ["--debug-log", "{pem}", "config", "show"],
        ["sim", "--public-key", "{pem}"],
    ],
    ids=["init", "config", "debug-log", "sim"],
)
def test_pasted_key_in_any_path_option_is_refused_unechoed(
    pem_text: str, no_config: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main([a.replace("{pem}", pem_text) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2
    assert "holds key contents, not a path" in err and len(err.splitlines()) == 1
    _no_key_in(out + err, pem_text)
    assert not no_config.exists()


def test_pasted_key_never_reaches_a_message_in_process(pem_text: str, tmp_path: Path) -> None:
    """Callers that skip cli.main (the resolver, the key loader, path display) don't echo it either."""
    import argparse

    from kalshi_tui.auth import KeyFileError, key_file_problem, load_private_key
    from kalshi_tui.config import display_path
    from kalshi_tui.endpoint import resolve
    from kalshi_tui.errors import UserError

    args = argparse.Namespace(
        ws_url="ws://127.0.0.1:9/trade-api/ws/v2", rest_url=None, key_id="k", key_file=pem_text
    )
    with pytest.raises(UserError) as raised:
        resolve(args)
    problem = key_file_problem(pem_text)
    with pytest.raises(KeyFileError) as loaded:
        load_private_key(pem_text)
    for text in (str(raised.value), str(problem), str(loaded.value), display_path(pem_text)):
        _no_key_in(text, pem_text)
