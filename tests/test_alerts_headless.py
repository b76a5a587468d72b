"""``kalshi-tui alerts`` as a user runs it: a subprocess against the simulator over real
sockets, rules from a real profile or ``--rule``, fired alerts as JSON lines."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from asyncio.subprocess import PIPE
from pathlib import Path
from typing import Any

import pytest

from bench.waiting import until
from kalshi_tui.numbers import format_price, parse_price
from kalshi_tui.sim import Simulator

NO_CONFIG = {**os.environ, "KALSHI_TUI_CONFIG": "/nonexistent/config.toml"}


def _endpoint(sim: Simulator) -> list[str]:
    assert sim.key_path is not None
    return ["--ws-url", sim.ws_url, "--rest-url", sim.rest_url, "--key-id", sim.key_id]


class Alerts:
    """A running ``kalshi-tui alerts``: stdout read line by line, stderr collected."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []
        self.err: list[str] = []
        self._tasks = [asyncio.create_task(self._out()), asyncio.create_task(self._errs())]

    @classmethod
    async def start(cls, *args: str, env: dict[str, str] = NO_CONFIG, stdout: int = PIPE) -> Alerts:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kalshi_tui", "alerts", *args, env=env, stdout=stdout, stderr=PIPE
        )
        return cls(proc)

    async def _out(self) -> None:
        if self.proc.stdout is None:
            return
        async for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    async def _errs(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.err.append(line.decode().rstrip("\n"))

    async def exit_code(self) -> int:
        await until(lambda: self.proc.returncode is not None and all(t.done() for t in self._tasks), "exit")
        assert self.proc.returncode is not None
        return self.proc.returncode

    def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()


def _best_yes_bid(sim: Simulator, ticker: str) -> int:
    bid = sim.book(ticker).yes_bid
    assert bid is not None
    return bid.price


def _profile(tmp_path: Path, sim: Simulator, rules: str, extra: str = "") -> dict[str, str]:
    assert sim.key_path is not None
    path = tmp_path / "config.toml"
    path.write_text(
        f"""[profiles.main]
environment = "custom"
ws_url = "{sim.ws_url}"
rest_url = "{sim.rest_url}"
key_id = "{sim.key_id}"
key_file = "{sim.key_path}"
refresh_rate = 10.0
{extra}
{rules}"""
    )
    path.chmod(0o600)
    return {**os.environ, "KALSHI_TUI_CONFIG": str(path)}


async def test_a_crossing_from_the_profile_is_printed_and_piped_to_the_command(
    make_sim, tmp_path: Path
) -> None:
    async with make_sim(seed=41, rate=0, markets=2, start_paused=True) as sim:
        ticker = sim.tickers[0]
        start = _best_yes_bid(sim, ticker)
        got = tmp_path / "got.jsonl"
        command = f"{sys.executable} -c 'import sys; open(sys.argv[1], \"a\").write(sys.stdin.read())' {got}"
        env = _profile(
            tmp_path,
            sim,
            f"""
[[profiles.main.alerts]]
market = "{ticker}"
when = "spread_at_least"
price = "0.0001"

[[profiles.main.alerts]]
market = "{ticker}"
when = "bid_above"
price = "{format_price(start)}"
""",
            extra=f"alert_command = {json.dumps(command)}",
        )
        alerts = await Alerts.start("--count", "2", env=env)
        try:
            # The spread rule fires on the first synced book: the subscription is live.
            await until(lambda: alerts.lines, "the spread alert")
            assert alerts.lines[0]["when"] == "spread_at_least" and alerts.lines[0]["market"] == ticker
            while _best_yes_bid(sim, ticker) <= start:
                sim.step()
                await asyncio.sleep(0)
            code = await alerts.exit_code()
        finally:
            alerts.stop()
    assert code == 0, alerts.err
    fired = alerts.lines[1]
    assert fired["when"] == "bid_above" and fired["while_disconnected"] is False
    assert parse_price(fired["value"]) > start
    assert parse_price(fired["settings"]["price"]) == start and fired["market"] == ticker
    await until(lambda: got.exists() and len(got.read_text().splitlines()) == 2, "the command's two alerts")
    piped = [json.loads(line) for line in got.read_text().splitlines()]
    assert sorted(p["when"] for p in piped) == ["bid_above", "spread_at_least"]
    assert "BEGIN" not in got.read_text() and "key" not in piped[0]


async def test_a_failing_command_is_reported_and_the_alerts_go_on(make_sim) -> None:
    async with make_sim(seed=42, rate=200, markets=2) as sim:
        rule = f"market={sim.tickers[0]} when=trade_at_least contracts=0.01 repeat=true"
        alerts = await Alerts.start(
            *_endpoint(sim),
            "--key-file",
            str(sim.key_path),
            "--rule",
            rule,
            "--command",
            "false",
            "--count",
            "3",
        )
        try:
            code = await alerts.exit_code()
        finally:
            alerts.stop()
    assert code == 0
    assert [a["when"] for a in alerts.lines] == ["trade_at_least"] * 3
    assert alerts.err and all(
        line == "kalshi-tui: alert command 'false' exited with 1" for line in alerts.err
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
async def test_a_full_disk_is_one_sentence_and_exit_5(make_sim) -> None:
    async with make_sim(seed=43, rate=200, markets=2) as sim:
        rule = f"market={sim.tickers[0]} when=spread_at_least price=0.0001"
        with open("/dev/full", "wb") as full:
            alerts = await Alerts.start(
                *_endpoint(sim), "--key-file", str(sim.key_path), "--rule", rule, stdout=full.fileno()
            )
            try:
                code = await alerts.exit_code()
            finally:
                alerts.stop()
    assert code == 5
    assert len(alerts.err) == 1 and "No space left on device" in alerts.err[0], alerts.err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["--rule", "market=A when=bid_over price=0.5"],
            "--rule #1: the rule.when = 'bid_over' is not a condition",
        ),
        (["--rule", "market=A when=bid_above"], "the rule.price is missing"),
        ([], "no alert rules"),
        (["--rule", "when=disconnected seconds=5", "--count", "0"], "--count must be a whole number"),
    ],
)
async def test_bad_rules_and_arguments_are_one_sentence(sim: Simulator, args: list[str], words: str) -> None:
    alerts = await Alerts.start(*_endpoint(sim), "--key-file", str(sim.key_path), *args)
    try:
        code = await alerts.exit_code()
    finally:
        alerts.stop()
    assert code == 2
    assert len(alerts.err) == 1 and words in alerts.err[0], alerts.err


async def test_a_crossing_while_the_link_was_down_fires_once_after_resync_labelled(make_sim) -> None:
    async with make_sim(seed=44, rate=0, markets=2, start_paused=True) as sim:
        ticker = sim.tickers[0]
        start = _best_yes_bid(sim, ticker)
        rules = [
            f"market={ticker} when=spread_at_least price=0.0001",  # fires on the first book: subscribed
            f"market={ticker} when=bid_above price={format_price(start)}",
        ]
        args = [*_endpoint(sim), "--key-file", str(sim.key_path), "--count", "2"]
        alerts = await Alerts.start(*args, *(a for r in rules for a in ("--rule", r)))
        try:
            await until(lambda: alerts.lines, "the spread alert")
            assert sim.faults.kill_connections() == 1
            # No await until the bid is up: the client cannot be back before the move.
            while _best_yes_bid(sim, ticker) <= start:
                sim.step()
            code = await alerts.exit_code()
        finally:
            alerts.stop()
    assert code == 0, alerts.err
    fired = alerts.lines[1]
    assert fired["when"] == "bid_above" and fired["while_disconnected"] is True
    assert fired["message"].endswith("(while disconnected)")
    assert parse_price(fired["value"]) > start
