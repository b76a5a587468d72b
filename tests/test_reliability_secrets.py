"""No secret leaves the process: every subcommand run with a real key and ``--debug-log``,
and every output searched for the key and for the signatures that were sent.

Searched: stdout, stderr, the debug logs, the files written (config, books), the pty
output of the dashboard, exception texts and the Connection tab's errors. Looked for: the
private key's PEM body and any 16-character base64 fragment of it that is specific to this
key (fragments shared with the public key or with any RSA key's fixed DER header are not
secrets), every signature header value the exchange received (recorded on the exchange
side) and any 16-character fragment of one, and anything signature-shaped (a base64 run as
long as a 2048-bit signature).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import connect

from bench.soak import SOAK_SETTINGS, client
from bench.waiting import GUARD, NeverHappened, until
from kalshi_tui.auth import (
    HEADER_SIGNATURE,
    KeyFileError,
    Signer,
    generate_key,
    load_private_key,
    private_key_pem,
    write_private_key,
)
from kalshi_tui.errors import AuthRejected
from kalshi_tui.sim import Simulator
from kalshi_tui.store import Store
from kalshi_tui.stream import Pool

REPO = Path(__file__).resolve().parents[1]
KEY_ID = "secrets-test-key"
GRAM = 16
_B64_RUN = re.compile(r"[A-Za-z0-9+/=]{16,}")
_SIGNATURE_SHAPED = re.compile(r"[A-Za-z0-9+/]{300,}={0,2}")


def _grams(text: str, n: int = GRAM) -> set[str]:
    out: set[str] = set()
    for run in _B64_RUN.findall(text):
        out.update(run[i : i + n] for i in range(len(run) - n + 1))
    return out


def _pem_body(pem: bytes) -> str:
    return "".join(line for line in pem.decode().splitlines() if line and "-----" not in line)


@dataclass
class Secrets:
    key_grams: set[str]
    pem_lines: list[str]
    signatures: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # what was searched, and its size

    def check(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.checked[where] = len(text)
        assert "PRIVATE KEY" not in text, f"{where}: a PEM header"
        for line in self.pem_lines:
            assert line not in text, f"{where}: a line of the private key"
        grams = _grams(text)
        leaked = grams & self.key_grams
        assert not leaked, f"{where}: key fragment(s) {sorted(leaked)[:3]}"
        for sig in self.signatures:
            assert sig not in text, f"{where}: a signature header value"
        sig_grams = set().union(*(_grams(s) for s in self.signatures)) if self.signatures else set()
        leaked = grams & sig_grams
        assert not leaked, f"{where}: signature fragment(s) {sorted(leaked)[:3]}"
        shaped = _SIGNATURE_SHAPED.search(text)
        assert shaped is None, f"{where}: something signature-shaped: {shaped.group()[:40]}..."
        unredacted = re.search(
            rf"{HEADER_SIGNATURE}['\"]?\s*[:=,]\s*['\"]?(?!\[redacted\])\S", text, re.IGNORECASE
        )
        assert unredacted is None, f"{where}: {text[unredacted.start() : unredacted.end() + 40]}"


@pytest.fixture()
def key(tmp_path: Path) -> rsa.RSAPrivateKey:
    return generate_key()  # this test's own key: its body must appear nowhere


@pytest.fixture()
def secrets(key: rsa.RSAPrivateKey) -> Secrets:
    pem = private_key_pem(key)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # Fragments every RSA key shares (DER headers), or that the public key shows anyway.
    common = _grams(_pem_body(private_key_pem(generate_key()))) | _grams(_pem_body(public))
    body = _pem_body(pem)
    return Secrets(_grams(body) - common, [ln for ln in pem.decode().splitlines() if "-----" not in ln])


def _env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_TUI_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["KALSHI_TUI_CONFIG"] = str(config)
    return env


async def _kalshi(config: Path, *args: str, timeout: float = GUARD) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kalshi_tui",
        *args,
        env=_env(config),
        cwd=REPO,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@contextlib.contextmanager
def _record_signatures(sim: Simulator, into: list[str]) -> Iterator[None]:
    """Keep every signature header value the exchange receives (WebSocket and REST)."""
    real = sim.server.authorized

    def spy(headers: Any, method: str, path: str) -> bool:
        value = headers.get(HEADER_SIGNATURE)
        if value:
            into.append(value)
        return real(headers, method, path)

    sim.server.authorized = spy  # type: ignore[method-assign]
    try:
        yield
    finally:
        sim.server.authorized = real  # type: ignore[method-assign]


class _Pty:
    """The dashboard on a pseudo-terminal, the way an SSH session runs it."""

    def __init__(self, config: Path, *argv: str) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        env = _env(config) | {"TERM": "xterm-256color", "TZ": "UTC"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kalshi_tui", *argv],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=REPO,
            start_new_session=True,
        )
        os.close(slave)
        self.output = b""

    def pump(self, wait: float) -> None:
        ready, _, _ = select.select([self.master], [], [], wait)
        if ready:
            with contextlib.suppress(OSError):
                self.output += os.read(self.master, 65536)

    def drawn_or_gone(self, needle: bytes) -> bool:
        self.pump(0)
        return needle in self.output or self.proc.poll() is not None

    def gone(self) -> bool:
        self.pump(0)
        return self.proc.poll() is not None

    async def quit(self) -> int:
        os.write(self.master, b"q")
        with contextlib.suppress(NeverHappened):  # then it is terminated below
            await until(self.gone, "the app to quit")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(5)
        self.pump(0)
        os.close(self.master)
        return self.proc.returncode


async def test_no_subcommand_shows_the_key_or_a_signature(
    tmp_path: Path, key: rsa.RSAPrivateKey, secrets: Secrets
) -> None:
    key_file = write_private_key(key, tmp_path / "kalshi.pem")
    config = tmp_path / "config.toml"
    logs = tmp_path / "logs"
    logs.mkdir()
    outputs: dict[str, str] = {}

    def log(name: str) -> list[str]:
        return ["--debug-log", str(logs / f"{name}.log")]

    async with (
        Simulator(
            seed=51,
            rate=300,
            markets=6,
            lifecycle_rate=0,
            user_share=0.3,
            public_key=key.public_key(),
            key_id=KEY_ID,
        ) as sim,
        asyncio.timeout(120),
    ):
        with _record_signatures(sim, secrets.signatures):
            markets = ",".join(sim.tickers[:3])
            for argv in (
                ["--help"],
                ["init", "--help"],
                ["config", "show", "--help"],
                ["tail", "--help"],
                ["sim", "--help"],
                ["demo", "--help"],
                ["run", "--help"],
            ):
                code, out, err = await _kalshi(config, *argv)
                assert code == 0, err
                outputs[" ".join(argv)] = out + err
            code, out, err = await _kalshi(
                config,
                *log("init"),
                "init",
                "--yes",
                "--env",
                "custom",
                "--ws-url",
                sim.ws_url,
                "--rest-url",
                sim.rest_url,
                "--key-id",
                KEY_ID,
                "--key-file",
                str(key_file),
                "--watchlist",
                f"main={markets}",
                "--default",
            )
            assert code == 0, err
            outputs["init"] = out + err
            code, out, err = await _kalshi(config, *log("show"), "config", "show")
            assert code == 0 and KEY_ID in out, err
            outputs["config show"] = out + err

            books = tmp_path / "books.json"
            code, out, err = await _kalshi(
                config,
                *log("tail"),
                "tail",
                "--count",
                "200",
                "--channels",
                "orderbook_delta,ticker,trade,fill",
                "--books-out",
                str(books),
            )
            assert code == 0, err
            assert len(out.splitlines()) == 200
            outputs["tail"] = out + err
            outputs["books file"] = books.read_text()

            # The same key id with another key: the exchange says 401.
            other = write_private_key(generate_key(), tmp_path / "other.pem")
            code, out, err = await _kalshi(
                config,
                *log("tail-401"),
                "tail",
                "--ws-url",
                sim.ws_url,
                "--key-id",
                KEY_ID,
                "--key-file",
                str(other),
                "--markets",
                markets,
                "--count",
                "1",
            )
            assert code == 3 and "401" in err, err
            outputs["tail with the wrong key"] = out + err

            # The dashboard itself, on the profile, in a terminal.
            term = _Pty(config, *log("run"), "run")
            needle = sim.tickers[0][:8].encode()
            await until(lambda: term.drawn_or_gone(needle), "the first ticker drawn")
            drawn = needle in term.output
            await asyncio.sleep(1.0)  # a few refreshes with live data
            code = await term.quit()
            outputs["dashboard (pty)"] = term.output.decode("utf-8", "replace")
            assert drawn, outputs["dashboard (pty)"][-500:]
            assert code == 0

        assert len(secrets.signatures) >= 5  # tail, its REST backfill, the 401, the dashboard
        outputs["config file"] = config.read_text()

    # The standalone simulator, given our public key, with its own debug log; we connect and
    # sign a REST call, so its log sees our signatures.
    pub = tmp_path / "pub.pem"
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kalshi_tui",
            *log("sim"),
            "sim",
            "--port",
            "0",
            "--public-key",
            str(pub),
            "--markets",
            "3",
        ],
        env=_env(config),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = ""
        while "Ctrl-C" not in banner:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            banner += line
        ws_url = re.search(r"WebSocket\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        rest_url = re.search(r"REST\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        sim_key_id = re.search(r"key id\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        signer = Signer(sim_key_id, key)
        headers = signer.headers()
        secrets.signatures.append(headers[HEADER_SIGNATURE])
        async with connect(ws_url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["ticker"]}}))
            await asyncio.wait_for(ws.recv(), GUARD)
        path = "/trade-api/v2/portfolio/balance"
        rest_headers = signer.headers("GET", path)
        secrets.signatures.append(rest_headers[HEADER_SIGNATURE])
        async with httpx.AsyncClient(trust_env=False) as http:
            assert (await http.get(rest_url + "/portfolio/balance", headers=rest_headers)).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=GUARD)
    outputs["sim"] = banner + out + err

    for name in sorted(os.listdir(logs)):
        path = logs / name
        assert path.stat().st_mode & 0o777 == 0o600, f"{name} is readable by others"
        outputs[f"debug log {name}"] = path.read_text()
    assert set(outputs) >= {"debug log tail.log", "debug log run.log", "debug log sim.log"}
    assert "signature" in outputs["debug log tail.log"].lower()  # the headers were logged...
    for where, text in outputs.items():
        secrets.check(where, text)  # ...but never their values
    print(
        f"searched {len(secrets.checked)} outputs ({sum(secrets.checked.values()):,} chars) "
        f"for {len(secrets.key_grams):,} key fragments and {len(secrets.signatures)} signatures"
    )


async def test_exception_texts_and_connection_errors_hold_no_secret(
    tmp_path: Path, key: rsa.RSAPrivateKey, secrets: Secrets
) -> None:
    texts: dict[str, str] = {}
    encrypted = write_private_key(key, tmp_path / "enc.pem", passphrase=b"open sesame")
    for passphrase in (None, "wrong"):
        with pytest.raises(KeyFileError) as info:
            load_private_key(encrypted, passphrase)
        texts[f"KeyFileError({passphrase})"] = str(info.value) + repr(info.value)
    junk = tmp_path / "junk.pem"
    junk.write_bytes(private_key_pem(key)[:300])  # a key cut short: its start is in the file
    with pytest.raises(KeyFileError) as info:
        load_private_key(junk)
    texts["KeyFileError(truncated)"] = str(info.value) + repr(info.value)

    async with Simulator(
        seed=52, rate=300, markets=5, lifecycle_rate=0, public_key=key.public_key(), key_id=KEY_ID
    ) as sim:
        signer = Signer(KEY_ID, key)
        texts["repr(signer)"] = repr(signer)
        with _record_signatures(sim, secrets.signatures):
            stranger = Signer(KEY_ID, generate_key())
            store = Store()
            with pytest.raises(AuthRejected) as rejected:
                await asyncio.wait_for(
                    Pool(sim.ws_url, stranger, store, SOAK_SETTINGS, markets=sim.tickers).run(), GUARD
                )
            texts["AuthRejected"] = str(rejected.value) + repr(rejected.value)
            texts["errors after 401"] = repr(store.metrics)
            async with client(sim, sim.tickers, SOAK_SETTINGS, signer=signer) as (live, pool):
                sim.faults.refuse_handshakes(0.5)  # the key worked; a 401 window; back again
                sim.faults.kill_connections()
                await until(lambda: live.metrics.state == "auth failed", "the auth-failed state")
                await until(lambda: live.metrics.state == "live", "live again")
                texts["Connection tab after a 401 window"] = repr(live.metrics) + repr(pool.sessions)
    assert len(secrets.signatures) >= 3
    for where, text in texts.items():
        secrets.check(where, text)


def test_the_search_finds_what_it_looks_for(key: rsa.RSAPrivateKey, secrets: Secrets) -> None:
    body = _pem_body(private_key_pem(key))
    sig = Signer(KEY_ID, key).headers()[HEADER_SIGNATURE]
    secrets.signatures.append(sig)
    secrets.check("clean", "connected; KALSHI-ACCESS-SIGNATURE: [redacted] " + "A" * 40)
    specific = next(
        body[i : i + 20] for i in range(0, len(body) - 20) if body[i : i + GRAM] in secrets.key_grams
    )
    for leak in (
        f"oops {specific} oops",
        "x" + sig[100:120] + "y",
        f"sig={sig}",
        "KALSHI-ACCESS-SIGNATURE: abc",
        secrets.pem_lines[5],
    ):
        with pytest.raises(AssertionError):
            secrets.check("leaky", leak)
