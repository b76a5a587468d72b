"""``kalshi-tui tail`` as a user runs it: a subprocess against the simulator."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from kalshi_tui.auth import generate_key, write_private_key
from kalshi_tui.sim import Simulator


async def _tail(*args: str, timeout: float = 30.0) -> tuple[int, str, str]:
    env = {**os.environ, "KALSHI_TUI_CONFIG": "/nonexistent/config.toml"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kalshi_tui",
        "tail",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _endpoint(sim: Simulator) -> list[str]:
    assert sim.key_path is not None
    return [
        "--ws-url",
        sim.ws_url,
        "--rest-url",
        sim.rest_url,
        "--key-id",
        sim.key_id,
        "--key-file",
        str(sim.key_path),
    ]


async def test_tail_prints_json_lines_and_writes_exact_books(tmp_path: Path) -> None:
    books_out = tmp_path / "books.json"
    async with Simulator(seed=21, rate=300, markets=6) as sim:
        markets = sim.tickers[:3]
        code, out, err = await _tail(
            *_endpoint(sim), "--markets", ",".join(markets), "--count", "40", "--books-out", str(books_out)
        )
        assert code == 0, err
        lines = [json.loads(line) for line in out.splitlines()]
        assert len(lines) == 40
        assert {ln["type"] for ln in lines} >= {"orderbook_snapshot", "orderbook_delta"}
        # Fills are account-wide: they may name any market.
        assert all(ln["market"] in markets for ln in lines if ln["type"] != "fill")
        delta = next(ln for ln in lines if ln["type"] == "orderbook_delta")
        assert delta["price"].count(".") == 1 and len(delta["price"].split(".")[1]) == 4
        assert len(delta["delta"].split(".")[1]) == 2
        books = json.loads(books_out.read_text())
        assert set(books) == set(markets)
        assert any(not book["stale"] for book in books.values())
        for book in books.values():
            assert isinstance(book["stale"], bool)
            for side in ("yes", "no"):
                prices = [p for p, _ in book[side]]
                assert prices == sorted(prices)
                assert all(isinstance(p, str) and isinstance(s, str) for p, s in book[side])


async def test_tail_books_equal_the_exchange_after_a_paused_run(tmp_path: Path) -> None:
    books_out = tmp_path / "books.json"
    async with Simulator(seed=22, rate=200, markets=4) as sim:
        proc = asyncio.create_task(
            _tail(
                *_endpoint(sim),
                "--markets",
                ",".join(sim.tickers),
                "--duration",
                "2.5",
                "--books-out",
                str(books_out),
            )
        )
        await asyncio.sleep(1.5)
        sim.pause()  # the last second carries nothing new: the file must equal the truth
        code, _, err = await proc
        assert code == 0, err
        books = json.loads(books_out.read_text())
        for ticker in sim.tickers:
            truth = sim.book(ticker)
            want_yes = [
                [f"{p // 10000}.{p % 10000:04d}", f"{s // 100}.{s % 100:02d}"]
                for p, s in sorted(truth.yes.items())
            ]
            assert books[ticker]["stale"] is False
            assert books[ticker]["yes"] == want_yes


async def test_tail_with_a_wrong_key_exits_with_one_line(tmp_path: Path) -> None:
    other = write_private_key(generate_key(), tmp_path / "other.pem")
    async with Simulator(seed=23, rate=10, markets=2) as sim:
        code, out, err = await _tail(
            "--ws-url",
            sim.ws_url,
            "--key-id",
            sim.key_id,
            "--key-file",
            str(other),
            "--markets",
            sim.tickers[0],
            "--count",
            "1",
        )
    assert code == 3
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "401" in err
    assert "Traceback" not in err


async def test_tail_bad_arguments_exit_with_one_line(tmp_path: Path) -> None:
    code, _, err = await _tail(
        "--ws-url",
        "ws://127.0.0.1:1/trade-api/ws/v2",
        "--key-id",
        "k",
        "--key-file",
        str(tmp_path / "missing.pem"),
        "--markets",
        "A",
    )
    assert code == 2 and "not found" in err and len(err.strip().splitlines()) == 1
    code, _, err = await _tail("--markets", "A")  # no profile, no flags
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
