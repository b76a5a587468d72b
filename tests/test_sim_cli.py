"""``kalshi-tui sim`` as a user runs it: a banner, a working server, a clean Ctrl-C,
and one line (exit 2) for a taken port or a bad flag."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from bench.waiting import GUARD
from kalshi_tui.auth import Signer, private_key_pem
from kalshi_tui.sim.cli import key_id_for

CMD = [sys.executable, "-m", "kalshi_tui", "sim", "--port", "0", "--markets", "4", "--rate", "100"]


def _start(*extra: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [*CMD, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None
    info: dict[str, str] = {}
    while line := proc.stdout.readline():  # the banner, or EOF if the simulator died
        field = re.match(r"  (WebSocket|REST|key id|key file)\s+(\S+)", line)
        if field:
            info[field[1]] = field[2]
        if line.startswith("Ctrl-C"):
            return proc, info
    proc.kill()
    raise AssertionError(f"no banner: {proc.stderr.read() if proc.stderr else ''}")


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=GUARD)
    return proc.returncode, err


async def test_sim_serves_signed_clients_and_stops_cleanly_on_ctrl_c(sim_private_key):
    proc, info = _start()
    try:
        key_path = Path(info["key file"])
        assert key_path.exists() and (key_path.stat().st_mode & 0o777) == 0o600
        assert "PRIVATE KEY" not in "".join(info.values())
        signer = Signer.from_file(info["key id"], key_path)
        async with connect(info["WebSocket"], additional_headers=signer.headers()) as ws:
            await ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["ticker"]}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), GUARD))["type"] == "subscribed"
    finally:
        code, err = _stop(proc)
    assert code == 0 and "Traceback" not in err
    assert not key_path.exists()  # the throwaway key goes with the simulator


async def test_sigusr1_pauses_the_market_with_the_socket_up_and_sigusr2_resumes_it(sim_private_key):
    proc, info = _start()
    assert proc.stdout is not None
    try:
        signer = Signer.from_file(info["key id"], Path(info["key file"]))
        async with connect(info["WebSocket"], additional_headers=signer.headers()) as ws:
            await ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["ticker"]}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), GUARD))["type"] == "subscribed"
            proc.send_signal(signal.SIGUSR1)
            assert await asyncio.to_thread(proc.stdout.readline) == "market paused\n"
            await asyncio.wait_for(await ws.ping(), GUARD)  # a quiet market, a live exchange
            proc.send_signal(signal.SIGUSR2)
            assert await asyncio.to_thread(proc.stdout.readline) == "market resumed\n"
            frame = json.loads(await asyncio.wait_for(ws.recv(), GUARD))
            assert frame["type"] == "ticker"
    finally:
        code, err = _stop(proc)
    assert code == 0 and "Traceback" not in err


async def test_sim_with_a_given_public_key_prints_a_stable_key_id(tmp_path, sim_private_key):
    pem = tmp_path / "pub.pem"
    signer_key = Signer("x", sim_private_key)
    pem.write_bytes(signer_key.public_key_pem())
    proc, info = _start("--public-key", str(pem))
    try:
        key_id = info["key id"]
        assert key_id == key_id_for(sim_private_key.public_key())
        assert "key file" not in info
        signer = Signer(key_id, sim_private_key)
        async with connect(info["WebSocket"], additional_headers=signer.headers()) as ws:
            await ws.send(json.dumps({"id": 1, "cmd": "list_subscriptions"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), GUARD))["msg"] == []
    finally:
        code, err = _stop(proc)
    assert code == 0 and "Traceback" not in err


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kalshi_tui", "sim", *args],
        capture_output=True,
        text=True,
        timeout=GUARD,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        done = _run("--port", str(port), "--markets", "2")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "already in use" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--fault", "boom"], "unknown fault"),
        (["--fault", "stall:x"], "must be numbers"),
        (["--markets", "0"], "--markets"),
        (["--public-key", "/nonexistent/pub.pem"], "cannot read public key"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(args: list[str], words: str) -> None:
    done = _run("--port", "0", *args)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr and done.stderr.strip().count("\n") == 0


def test_a_private_key_is_not_a_public_key(tmp_path, sim_private_key) -> None:
    pem = tmp_path / "priv.pem"
    pem.write_bytes(private_key_pem(sim_private_key))
    os.chmod(pem, 0o600)
    done = _run("--port", "0", "--public-key", str(pem))
    assert done.returncode == 2 and "not a PEM RSA public key" in done.stderr
    assert "PRIVATE" not in done.stderr
