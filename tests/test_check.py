"""``kalshi-tui check`` against the simulator over real sockets, with real keys: every check
passes on a good profile, and each broken thing gives one ✗ line that names the fix."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bench.waiting import GUARD
from kalshi_tui.auth import write_private_key
from kalshi_tui.check import CLOCK_WARN, FAIL, OK, SKIP, WARN, Doctor, Result
from kalshi_tui.cli import main
from kalshi_tui.config import Profile, write_profile
from kalshi_tui.sim import Simulator

ENV = {**os.environ, "KALSHI_TUI_CONFIG": "/nonexistent/config.toml"}
NAMES = ["config", "key file", "key", "REST", "clock", "WebSocket", "subscribe", "snapshot"]


def _args(**kw: Any) -> argparse.Namespace:
    base: dict[str, Any] = dict(
        config=None, profile=None, ws_url=None, rest_url=None, key_id=None, key_file=None, market=None
    )
    base.update(kw)
    return argparse.Namespace(**base)


def _flags(sim: Simulator, key_file: Path, **kw: Any) -> argparse.Namespace:
    kw.setdefault("key_id", sim.key_id)
    kw.setdefault("market", sim.tickers[0])
    kw.setdefault("ws_url", sim.ws_url)
    return _args(rest_url=sim.rest_url, key_file=str(key_file), **kw)


@pytest.fixture
def key_file(tmp_path: Path, sim_private_key: rsa.RSAPrivateKey) -> Path:
    return write_private_key(sim_private_key, tmp_path / "key.pem")


async def _doctor(args: argparse.Namespace, **kw: Any) -> list[Result]:
    # The step timeout is the product's; on a loaded test machine it is only a hang guard.
    results = await Doctor(args, lambda r: None, timeout=GUARD, **kw).run()
    assert [r.name for r in results] == NAMES  # every check says something, in order
    return results


def _by_status(results: list[Result], status: str) -> list[Result]:
    return [r for r in results if r.status == status]


async def _cli(*args: str, env: dict[str, str] = ENV) -> tuple[int, list[str], str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kalshi_tui",
        "check",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode().splitlines(), err.decode()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- through the command line, on a profile ----------------------------------------------------


async def test_check_passes_on_a_profile_against_the_simulator(
    sim: Simulator, key_file: Path, tmp_path: Path
):
    config = tmp_path / "config.toml"
    profile = Profile.create(
        "sim",
        "custom",
        ws_url=sim.ws_url,
        rest_url=sim.rest_url,
        key_id=sim.key_id,
        key_file=key_file,
        watchlists={"main": sim.tickers[2:4]},
    )
    write_profile(config, profile, make_default=True)
    code, lines, err = await _cli("--config", str(config))
    assert code == 0, lines
    assert err == ""
    assert [line.split(":")[0] for line in lines] == [f"✓ {name}" for name in NAMES], lines
    assert f"profile 'sim' in {config}" in lines[0]
    # The first watchlist market is the one subscribed, and its snapshot's latency is shown.
    assert lines[-2] == f"✓ subscribe: orderbook_delta for {sim.tickers[2]}"
    assert lines[-1].startswith(f"✓ snapshot: {sim.tickers[2]}: ") and " ms after the handshake" in lines[-1]


def test_a_missing_config_fails_once_and_skips_what_needs_it(tmp_path: Path, capsys):
    code = main(["check", "--config", str(tmp_path / "none.toml")])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert code == 1 and err == ""
    missing = tmp_path / "none.toml"
    assert lines[0] == f"✗ config: no config file at {missing}: run kalshi-tui init, or pass --config PATH"
    assert all(line.startswith("- ") and "skipped: needs" in line for line in lines[1:]), lines
    assert len(lines) == len(NAMES)


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["--ws-url", "ws://127.0.0.1:1/trade-api/ws/v2"], "--ws-url needs --key-id and --key-file too"),
        (["--key-id", "k"], "--key-id, --key-file and --rest-url go with --ws-url"),
    ],
)
def test_bad_arguments_are_one_sentence_and_exit_2(args: list[str], sentence: str, capsys):
    code = main(["check", *args])
    assert (code, capsys.readouterr()) == (2, ("", f"kalshi-tui: {sentence}\n"))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
async def test_output_into_a_full_disk_is_one_sentence_exit_5(tmp_path: Path):
    with open("/dev/full", "wb") as full:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kalshi_tui",
            "check",
            "--config",
            str(tmp_path / "none.toml"),
            env=ENV,
            stdout=full.fileno(),
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
    assert proc.returncode == 5
    assert err.decode() == "kalshi-tui: cannot write the output: No space left on device\n"


async def test_a_reader_that_went_away_is_no_traceback(tmp_path: Path):
    r, w = os.pipe()
    os.close(r)  # like `| head -1` once head has its line: every write now fails with EPIPE
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kalshi_tui",
        "check",
        "--config",
        str(tmp_path / "none.toml"),
        env=ENV,
        stdout=w,
        stderr=asyncio.subprocess.PIPE,
    )
    os.close(w)
    _, err = await proc.communicate()
    assert (proc.returncode, err) == (1, b"")  # the checks' verdict; nothing on stderr


# -- each broken thing: one ✗ line ------------------------------------------------------------


async def test_all_checks_pass_with_flags(sim: Simulator, key_file: Path):
    results = await _doctor(_flags(sim, key_file))
    assert _by_status(results, OK) == results, results


async def test_a_wrong_key_id_is_one_failed_line(sim: Simulator, key_file: Path):
    results = await _doctor(_flags(sim, key_file, key_id="not-my-key"))
    [failed] = _by_status(results, FAIL)
    assert failed.name == "WebSocket"
    assert "refused the signed handshake (HTTP 401)" in failed.text
    assert "key id not-my-key" in failed.text
    assert [r.name for r in _by_status(results, SKIP)] == ["subscribe", "snapshot"]


async def test_a_skewed_clock_is_one_failed_line_that_blames_the_clock(sim: Simulator, key_file: Path):
    # Signed with a clock two minutes slow: past the simulator's 30 s window.
    results = await _doctor(_flags(sim, key_file), clock=lambda: time.time() - 120)
    [failed] = _by_status(results, FAIL)
    assert failed.name == "WebSocket"
    # The Date header has whole seconds: 120 s slow reads as 119.x or 120.x.
    assert re.search(r"your clock is 1(19|20)\.\d s behind the exchange's", failed.text), failed.text
    assert "sync the clock" in failed.text
    [clock] = [r for r in results if r.name == "clock"]
    assert clock.status == WARN and re.search(r"1(19|20)\.\d s behind", clock.text)


async def test_a_clock_slightly_off_is_a_warning_only(sim: Simulator, key_file: Path):
    results = await _doctor(_flags(sim, key_file), clock=lambda: time.time() + 5)
    assert [r.name for r in _by_status(results, WARN)] == ["clock"]
    assert "ahead of the exchange's" in results[4].text
    assert _by_status(results, FAIL) == []  # within the exchange's window: it still works


async def test_a_refused_connection_is_one_failed_line(key_file: Path):
    port = _closed_port()
    args = _args(
        ws_url=f"ws://127.0.0.1:{port}/trade-api/ws/v2", key_id="k", key_file=str(key_file), market="A"
    )
    results = await _doctor(args)
    [failed] = _by_status(results, FAIL)
    assert failed.name == "REST"
    assert f"http://127.0.0.1:{port}/trade-api/v2" in failed.text and "check the URL" in failed.text
    skipped = _by_status(results, SKIP)
    assert [r.name for r in skipped] == ["clock", "WebSocket", "subscribe", "snapshot"]
    assert f"127.0.0.1:{port}" in skipped[1].text


async def test_a_refused_websocket_beside_a_working_rest_api(sim: Simulator, key_file: Path):
    port = _closed_port()
    results = await _doctor(_flags(sim, key_file, ws_url=f"ws://127.0.0.1:{port}/trade-api/ws/v2"))
    [failed] = _by_status(results, FAIL)
    assert failed.name == "WebSocket"
    assert failed.text.startswith("cannot connect: ") and "check the URL" in failed.text


async def test_an_unknown_market_fails_the_subscription(sim: Simulator, key_file: Path):
    results = await _doctor(_flags(sim, key_file, market="NO-SUCH-MARKET"))
    [failed] = _by_status(results, FAIL)
    assert failed.name == "subscribe" and "NO-SUCH-MARKET" in failed.text


async def test_a_paused_exchange_is_a_warning(make_sim, key_file: Path):
    async with make_sim(seed=3, rate=0, markets=2, start_paused=True) as sim:
        results = await _doctor(_flags(sim, key_file))
    [warned] = _by_status(results, WARN)
    assert warned.name == "REST" and "trading is paused" in warned.text
    assert _by_status(results, FAIL) == []


async def test_a_key_file_readable_by_others(sim: Simulator, key_file: Path):
    key_file.chmod(0o644)
    results = await _doctor(_flags(sim, key_file))
    [failed] = _by_status(results, FAIL)
    assert failed.name == "key file" and f"chmod 600 {key_file}" in failed.text
    assert [r.name for r in _by_status(results, SKIP)] == ["key", "WebSocket", "subscribe", "snapshot"]


async def test_a_key_file_that_is_not_pem_is_not_echoed(sim: Simulator, tmp_path: Path):
    bad = tmp_path / "key.txt"
    bad.write_text("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC secret-ish base64\n")
    bad.chmod(0o600)
    results = await _doctor(_flags(sim, bad))
    [failed] = _by_status(results, FAIL)
    assert failed.name == "key file" and "is not a PEM private key" in failed.text
    assert "MIIE" not in " ".join(r.text for r in results)


async def test_an_encrypted_key_without_its_passphrase(
    sim: Simulator, tmp_path: Path, sim_private_key: rsa.RSAPrivateKey, monkeypatch
):
    monkeypatch.delenv("KALSHI_TUI_KEY_PASSPHRASE", raising=False)
    locked = write_private_key(sim_private_key, tmp_path / "locked.pem", passphrase=b"open sesame")
    # No terminal to ask on (stdin is not a tty under pytest): the fix is the variable.
    results = await _doctor(_flags(sim, locked))
    [failed] = _by_status(results, FAIL)
    assert failed.name == "key"
    assert failed.text == (
        f"key file {locked} is encrypted: a passphrase is needed: "
        "set KALSHI_TUI_KEY_PASSPHRASE or run check in a terminal"
    )


# -- pure --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "status", "words"),
    [
        (0.0, OK, "within 1 s"),
        (CLOCK_WARN, OK, "within 1 s"),
        (-3.25, WARN, "3.2 s ahead of the exchange's"),
        (42.0, WARN, "42.0 s behind the exchange's"),
        (None, WARN, "offset is unknown"),
    ],
)
def test_clock_verdicts(offset: float | None, status: str, words: str):
    doctor = Doctor(_args(), lambda r: None)
    doctor.t.offset = offset
    result = doctor.clock_check()
    assert result.status == status and words in result.text


def test_lines_carry_one_mark_each():
    assert Result("clock", WARN, "x").line() == "! clock: x"
    assert Result("REST", FAIL, "y").line() == "✗ REST: y"
