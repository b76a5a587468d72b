"""``kalshi-tui tail`` as a user runs it (a subprocess against the simulator), and its
bounded output buffer (pure tests)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
from asyncio.subprocess import DEVNULL, PIPE
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bench.waiting import GUARD, until
from kalshi_tui.auth import generate_key, write_private_key
from kalshi_tui.cli import main
from kalshi_tui.numbers import parse_price, parse_size
from kalshi_tui.protocol import messages as m
from kalshi_tui.sim import Simulator
from kalshi_tui.store import Store
from kalshi_tui.stream.buffer import EventBuffer
from kalshi_tui.tail import event_json

WIRE_NAMES = set(m.WIRE_TYPE.values())


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


# -- the bounded buffer: pure tests -----------------------------------------------------------


def _trade(i: int, ticker: str = "A") -> m.Trade:
    return m.Trade(
        trade_id=f"t{i}", market_ticker=ticker, yes_price=5000, no_price=5000, count=100, taker_side="yes"
    )


def test_buffer_memory_is_bounded_whatever_the_reader_does() -> None:
    store = Store()
    buf = EventBuffer(store, maxsize=1000)
    flood = _trade(0)
    for _ in range(1_000_000):  # nobody reads
        buf.put(flood)
    assert len(buf) <= 1000
    assert buf.dropped["trade"] == 1_000_000 - 1000
    # Oldest go first: what is held is the newest.
    for i in range(1, 2001):
        buf.put(_trade(i))
    held = []
    while (msg := buf.get_nowait()) is not None:
        held.append(msg.trade_id)  # type: ignore[attr-defined]
    assert held == [f"t{i}" for i in range(1001, 2001)]
    assert "dropped 1,001,000 trade events" in buf.summary()


def test_buffer_bounded_under_a_mixed_flood_of_book_events_and_trades() -> None:
    store = Store()
    buf = EventBuffer(store, maxsize=100)
    snap = m.OrderbookSnapshot(market_ticker="A", yes=[(4000, 100)], no=[(5000, 100)])
    store.apply(snap)
    buf.put(snap)
    for i in range(200_000):
        d = m.OrderbookDelta(market_ticker="A", side="yes", price=4000, delta=1 if i % 2 == 0 else -1)
        store.apply(d)
        buf.put(d)
        buf.put(_trade(i))
    assert len(buf) <= 101  # maxsize, plus one owed snapshot per market
    assert buf.folded > 0 and buf.dropped["trade"] > 0


def _random_flow(rng: random.Random, tickers: list[str], steps: int) -> list[m.Message]:
    """A valid exchange stream: snapshots, then deltas that never push a level below zero,
    trades, tickers, and now and then a fresh snapshot (a resync). YES bids stay under 50¢
    and NO bids under 50¢, so no book is ever crossed."""
    books: dict[str, dict[str, dict[int, int]]] = {}
    out: list[m.Message] = []

    def snapshot(t: str) -> m.OrderbookSnapshot:
        yes = {rng.randrange(1, 50) * 100: rng.randrange(1, 500) * 100 for _ in range(5)}
        no = {rng.randrange(1, 50) * 100: rng.randrange(1, 500) * 100 for _ in range(5)}
        books[t] = {"yes": dict(yes), "no": dict(no)}
        return m.OrderbookSnapshot(market_ticker=t, yes=sorted(yes.items()), no=sorted(no.items()))

    for t in tickers:
        out.append(snapshot(t))
    for i in range(steps):
        t = rng.choice(tickers)
        r = rng.random()
        if r < 0.01:
            out.append(snapshot(t))
        elif r < 0.25:
            out.append(_trade(i, t))
        elif r < 0.3:
            out.append(m.Ticker(market_ticker=t, price=rng.randrange(1, 99) * 100))
        else:
            side = rng.choice(["yes", "no"])
            levels = books[t][side]
            if levels and rng.random() < 0.5:
                price = rng.choice(list(levels))
                delta = -rng.randrange(1, levels[price] + 1)
            else:
                price = rng.randrange(1, 50) * 100
                delta = rng.randrange(1, 300) * 100
            size = levels.get(price, 0) + delta
            if size:
                levels[price] = size
            else:
                del levels[price]
            out.append(m.OrderbookDelta(market_ticker=t, side=side, price=price, delta=delta))
    return out


class Replayer:
    """A consumer of tail's JSON lines that rebuilds each book, as a script would."""

    def __init__(self) -> None:
        self.books: dict[str, dict[str, dict[int, int]]] = {}
        self.negative = 0

    def feed(self, line: dict[str, object]) -> None:
        kind, ticker = line["type"], str(line["market"])
        if kind == "orderbook_snapshot":
            self.books[ticker] = {
                side: {parse_price(p): parse_size(s) for p, s in line.get(side, [])}  # type: ignore[attr-defined]
                for side in ("yes", "no")
            }
        elif kind == "orderbook_delta":
            levels = self.books.setdefault(ticker, {"yes": {}, "no": {}})[str(line["side"])]
            price = parse_price(str(line["price"]))
            size = levels.get(price, 0) + parse_size(str(line["delta"]))
            if size < 0:
                self.negative += 1
            if size:
                levels[price] = size
            else:
                levels.pop(price, None)


def _store_books(store: Store) -> dict[str, dict[str, dict[int, int]]]:
    return {t: {"yes": dict(s.book.yes), "no": dict(s.book.no)} for t, s in store.markets.items()}


@pytest.mark.parametrize("seed", range(6))
def test_replaying_the_output_gives_the_store_books_under_overflow(seed: int) -> None:
    rng = random.Random(seed)
    tickers = ["A", "B", "C", "D"]
    store = Store()
    buf = EventBuffer(store, maxsize=40)
    replay = Replayer()
    for msg in _random_flow(rng, tickers, 20_000):
        store.apply(msg)  # the session applies, then hands the event on
        buf.put(msg)
        if rng.random() < 0.05:  # a reader that mostly stalls, then takes a few
            for _ in range(rng.randrange(1, 30)):
                got = buf.get_nowait()
                if got is None:
                    break
                replay.feed(json.loads(json.dumps(event_json(got))))
    while (got := buf.get_nowait()) is not None:
        replay.feed(json.loads(json.dumps(event_json(got))))
    assert buf.folded > 0 and buf.refreshed > 0 and buf.dropped["trade"] > 0  # it did overflow
    assert replay.negative == 0
    assert all(store.markets[t].book.synced for t in tickers)
    assert replay.books == _store_books(store)


def test_a_market_whose_book_is_not_in_sync_gets_no_made_up_snapshot() -> None:
    store = Store()
    buf = EventBuffer(store, maxsize=1)
    snap = m.OrderbookSnapshot(market_ticker="A", yes=[(4000, 100)], no=[])
    store.apply(snap)
    buf.put(snap)
    buf.put(_trade(1))  # pushes the snapshot out: market A is owed a fresh one
    store.mark_stale(["A"], "sequence gap")
    assert buf.get_nowait() == _trade(1)
    assert buf.get_nowait() is None  # the exchange's own snapshot is on its way instead
    resync = m.OrderbookSnapshot(market_ticker="A", yes=[(4100, 200)], no=[])
    store.apply(resync)
    buf.put(resync)
    assert buf.get_nowait() == resync


# -- tail as a Unix citizen: real subprocesses ------------------------------------------------

ENV = {**os.environ, "KALSHI_TUI_CONFIG": "/nonexistent/config.toml"}


class Running:
    """A ``kalshi-tui tail`` process whose stderr is collected line by line as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.err: list[str] = []
        self._reader = asyncio.create_task(self._collect())

    @classmethod
    async def start(cls, *args: str, stdout: int, env: dict[str, str] = ENV) -> Running:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kalshi_tui", "tail", *args, env=env, stdout=stdout, stderr=PIPE
        )
        return cls(proc)

    async def _collect(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.err.append(line.decode().rstrip("\n"))

    async def exit_code(self) -> int:
        await until(lambda: self.proc.returncode is not None and self._reader.done(), "tail to exit")
        assert self.proc.returncode is not None
        return self.proc.returncode

    def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _key_args(tmp_path: Path, key: rsa.RSAPrivateKey, ws_url: str) -> list[str]:
    path = write_private_key(key, tmp_path / "key.pem")
    return ["--ws-url", ws_url, "--key-id", "k", "--key-file", str(path)]


async def _read_line(fd: int) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = await asyncio.to_thread(os.read, fd, 65536)
        assert chunk, "the pipe closed before a whole line came"
        data += chunk
    return data.split(b"\n", 1)[0]


async def test_tail_piped_into_head_exits_cleanly(make_sim) -> None:
    async with make_sim(seed=31, rate=200, markets=3) as sim:
        r, w = os.pipe()
        tail = await Running.start(*_endpoint(sim), "--markets", ",".join(sim.tickers), stdout=w)
        head = await asyncio.create_subprocess_exec("head", "-1", stdin=r, stdout=PIPE)
        os.close(r)
        os.close(w)
        try:
            out, _ = await head.communicate()
            code = await tail.exit_code()
        finally:
            tail.stop()
    assert json.loads(out)["type"] in WIRE_NAMES
    assert code == 0, tail.err
    assert tail.err == []  # a reader that has enough is not an error


async def test_tail_notices_a_closed_pipe_even_when_the_stream_is_quiet(make_sim) -> None:
    async with make_sim(seed=32, rate=0, markets=2, start_paused=True) as sim:
        r, w = os.pipe()
        tail = await Running.start(
            *_endpoint(sim), "--markets", sim.tickers[0], "--channels", "orderbook_delta", stdout=w
        )
        os.close(w)
        try:
            first = await _read_line(r)  # the snapshot; after it nothing moves
            os.close(r)
            code = await tail.exit_code()
        finally:
            tail.stop()
    assert json.loads(first)["type"] == "orderbook_snapshot"
    assert code == 0 and tail.err == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
async def test_tail_into_a_full_disk_exits_non_zero_with_one_sentence(make_sim) -> None:
    async with make_sim(seed=33, rate=200, markets=2) as sim:
        with open("/dev/full", "wb") as full:
            tail = await Running.start(*_endpoint(sim), "--markets", sim.tickers[0], stdout=full.fileno())
            try:
                code = await tail.exit_code()
            finally:
                tail.stop()
    assert code == 5
    assert len(tail.err) == 1 and "No space left on device" in tail.err[0], tail.err


async def test_tail_stops_on_time_with_a_reader_that_never_reads(make_sim) -> None:
    async with make_sim(seed=34, rate=3000, markets=4) as sim:
        r, w = os.pipe()  # nobody ever reads r
        try:
            tail = await Running.start(
                *_endpoint(sim), "--markets", ",".join(sim.tickers), "--duration", "2", stdout=w
            )
            try:
                code = await tail.exit_code()
            finally:
                tail.stop()
        finally:
            os.close(r)
            os.close(w)
    assert code == 0, tail.err
    assert not any("Traceback" in line for line in tail.err)


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--duration", "nan"),
        ("--duration", "-5"),
        ("--duration", "inf"),
        ("--duration", "0"),
        ("--duration", "soon"),
        ("--count", "0"),
        ("--count", "-1"),
        ("--count", "1.5"),
        ("--connect-timeout", "nan"),
        ("--connect-timeout", "-1"),
    ],
)
def test_bad_numbers_are_refused_with_one_sentence(flag: str, value: str, capsys) -> None:
    code = main(["tail", "--markets", "A", flag, value])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and flag in err and repr(value) in err, err


def test_books_out_is_checked_before_the_run(tmp_path: Path, capsys) -> None:
    code = main(["tail", "--markets", "A", "--books-out", str(tmp_path / "missing" / "books.json")])
    err = capsys.readouterr().err
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1
    code = main(["tail", "--markets", "A", "--books-out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "is a folder" in err and len(err.strip().splitlines()) == 1


async def test_nothing_subscribed_in_time_is_exit_4(tmp_path: Path, sim_private_key) -> None:
    url = f"ws://127.0.0.1:{_closed_port()}/trade-api/ws/v2"
    tail = await Running.start(
        *_key_args(tmp_path, sim_private_key, url), "--markets", "A", "--connect-timeout", "1", stdout=DEVNULL
    )
    try:
        code = await tail.exit_code()
    finally:
        tail.stop()
    assert code == 4
    assert "Cannot reach the exchange" in tail.err[0]
    assert "nothing subscribed within 1 s" in tail.err[-1]
    assert len(tail.err) == 2 and not any("Traceback" in line for line in tail.err), tail.err


async def _refusing_server(status: int) -> asyncio.Server:
    """Answers every HTTP request (the WebSocket upgrade) with ``status``."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(f"HTTP/1.1 {status} Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


@pytest.mark.parametrize("status", [None, 500, 429])
async def test_a_failing_connection_is_reported_while_tail_keeps_trying(
    status: int | None, tmp_path: Path, sim_private_key
) -> None:
    server = await _refusing_server(status) if status else None
    port = server.sockets[0].getsockname()[1] if server else _closed_port()
    url = f"ws://127.0.0.1:{port}/trade-api/ws/v2"
    tail = await Running.start(
        *_key_args(tmp_path, sim_private_key, url),
        "--markets",
        "A",
        "--connect-timeout",
        "600",
        stdout=DEVNULL,
    )
    try:
        await until(lambda: tail.err, "a line on stderr")
        assert tail.proc.returncode is None  # reported while still trying, not at the end
        want = f"HTTP {status}" if status else "Cannot reach the exchange"
        assert want in tail.err[0] and len(tail.err) == 1, tail.err
    finally:
        tail.stop()
        if server is not None:
            server.close()
    assert await tail.exit_code() == 0  # SIGTERM is a clean stop


async def test_an_unknown_market_is_reported_and_the_rest_stream(make_sim) -> None:
    async with make_sim(seed=35, rate=200, markets=2) as sim:
        tail = await Running.start(
            *_endpoint(sim),
            "--markets",
            f"{sim.tickers[0].lower()},NOPE-26DEC",  # typed in lower case: upper-cased
            # not fills: the fill channel is account-wide, it carries every market the account trades
            "--channels",
            "orderbook_delta,ticker,trade",
            "--count",
            "30",
            stdout=PIPE,
        )
        try:
            assert tail.proc.stdout is not None
            out = await tail.proc.stdout.read()
            code = await tail.exit_code()
        finally:
            tail.stop()
    assert code == 0, tail.err
    assert any("no market with that ticker" in line and "NOPE-26DEC" in line for line in tail.err), tail.err
    assert {json.loads(line)["market"] for line in out.splitlines()} <= {sim.tickers[0]}


async def test_stdout_replays_to_the_written_books_after_the_reader_stalled(make_sim, tmp_path: Path) -> None:
    books_out = tmp_path / "books.json"
    async with make_sim(seed=36, rate=0, markets=4, start_paused=True) as sim:
        assert sim.key_path is not None
        config = tmp_path / "config.toml"
        config.write_text(
            f'default_profile = "sim"\n[profiles.sim]\nenvironment = "custom"\n'
            f'ws_url = "{sim.ws_url}"\nrest_url = "{sim.rest_url}"\n'
            f'key_id = "{sim.key_id}"\nkey_file = "{sim.key_path}"\n'
            "[profiles.sim.stream]\nbuffer_size = 30\n"
        )
        r, w = os.pipe()
        tail = await Running.start(
            "--markets",
            ",".join(sim.tickers),
            "--books-out",
            str(books_out),
            stdout=w,
            env={**os.environ, "KALSHI_TUI_CONFIG": str(config)},
        )
        os.close(w)
        replay = Replayer()
        try:
            lines = [await _read_line(r)]  # subscribed: the first snapshot is out
            for _ in range(20):  # a flood while nobody reads: the pipe and the buffer fill
                sim.step(1000)
                await asyncio.sleep(0.05)
            reading = asyncio.create_task(_read_all(r))
            tail.proc.send_signal(signal.SIGINT)
            code = await tail.exit_code()
            rest = await reading
        finally:
            tail.stop()
            os.close(r)
    assert code == 0, tail.err
    for raw in [*lines, *rest.splitlines()]:
        replay.feed(json.loads(raw))
    books = json.loads(books_out.read_text())
    assert replay.negative == 0
    for ticker, book in books.items():
        assert book["stale"] is False
        for side in ("yes", "no"):
            want = {parse_price(p): parse_size(s) for p, s in book[side]}
            assert replay.books[ticker][side] == want, (ticker, side)


async def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := await asyncio.to_thread(os.read, fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def test_tail_with_stdout_closed_says_so() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kalshi_tui", "tail", "--markets", "A"],
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(1),  # as `tail >&-` starts it
        timeout=GUARD,
        check=False,
    )
    assert done.returncode == 5
    assert done.stderr.strip() == "kalshi-tui: stdout is closed: there is nowhere to write the events"


def test_a_user_order_prints_as_the_exchange_writes_its_numbers() -> None:
    order = m.UserOrder(
        sid=4,
        order_id="o-1",
        market_ticker="KX-A",
        status="resting",
        side="no",
        book_side="bid",
        yes_price=7250,
        filled=150,
        remaining=850,
        initial=1000,
        maker_fees=7739,
        created_ts_ms=1_764_597_600_123,
        reason="fill",
    )
    line = event_json(order)
    assert line["type"] == "user_order" and line["market"] == "KX-A"
    assert (line["yes_price"], line["filled"], line["remaining"], line["initial"]) == (
        "0.7250",
        "1.50",
        "8.50",
        "10.00",
    )
    assert (line["maker_fees"], line["taker_fees"]) == ("0.007739", "0.000000")
    assert (line["order_id"], line["status"], line["side"], line["reason"]) == (
        "o-1",
        "resting",
        "no",
        "fill",
    )
