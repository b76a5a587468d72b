"""``kalshi-tui export``: records from the simulator's REST API over real HTTP with a real key,
every page, exact decimal strings equal to the exchange's own numbers; a good Unix citizen."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from asyncio.subprocess import PIPE
from pathlib import Path
from typing import Any

import pytest

from kalshi_tui import export as ex
from kalshi_tui.cli import main
from kalshi_tui.errors import UserError
from kalshi_tui.numbers import format_money, format_price, format_size
from kalshi_tui.output import Writer
from kalshi_tui.rest import RestClient
from kalshi_tui.sim import Simulator
from tests.test_check import _closed_port
from tests.test_rest_paging import serving

ENV = {**os.environ, "KALSHI_TUI_CONFIG": "/nonexistent/config.toml"}


@pytest.fixture
async def quiet_sim(make_sim) -> Any:
    """A paused simulator with a history made by running its engine by hand: two batches of
    steps a moment apart, so the records carry two different times."""
    async with make_sim(seed=11, rate=0, markets=4, start_paused=True, user_share=1.0) as sim:
        sim.step(1500)
        await asyncio.sleep(0.05)
        sim.step(1500)
        yield sim


def _endpoint(sim: Simulator, key_id: str | None = None) -> list[str]:
    assert sim.key_path is not None
    return ["--ws-url", sim.ws_url, "--key-id", key_id or sim.key_id, "--key-file", str(sim.key_path)]


async def _export(*args: str, stdout: int = PIPE) -> tuple[int, str, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kalshi_tui", "export", *args, env=ENV, stdout=stdout, stderr=PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, (out or b"").decode(), err.decode().splitlines()


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# -- the numbers are the exchange's --------------------------------------------------------------


async def test_fills_as_csv_equal_the_exchange_s_fills(quiet_sim: Simulator):
    fills = list(reversed(quiet_sim.engine.fills))  # newest first, as the exchange lists them
    assert len(fills) > 200  # more than one page of 200
    code, out, err = await _export("fills", *_endpoint(quiet_sim))
    assert (code, err) == (0, [])
    assert out.splitlines()[0] == ",".join(ex.KINDS["fills"].columns)
    rows = _csv(out)
    assert [r["trade_id"] for r in rows] == [f.trade_id for f in fills]
    for row, f in zip(rows, fills, strict=True):
        assert row["ticker"] == f.ticker and row["side"] == f.side and row["action"] == f.action
        assert row["yes_price"] == format_price(f.yes_price)
        assert row["price"] == format_price(f.yes_price if f.side == "yes" else f.no_price)
        assert row["count"] == format_size(f.count)
        assert row["fee"] == format_money(f.fee) and len(row["fee"].split(".")[1]) == 6
        assert row["time"] == ex.iso_ms(f.ts_ms)


async def test_fills_equal_what_the_app_reads(quiet_sim: Simulator):
    """The app backfills its Fills tab with RestClient.fills: the same numbers."""
    rest = RestClient(quiet_sim.rest_url, quiet_sim.signer)
    try:
        app = await rest.fills()
    finally:
        await rest.aclose()
    code, out, _ = await _export("fills", *_endpoint(quiet_sim), "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == len(app)
    for row, f in zip(rows, app, strict=True):
        assert (row["trade_id"], row["yes_price"], row["count"], row["fee"]) == (
            f.trade_id,
            format_price(f.yes_price),
            format_size(f.count),
            format_money(f.fee),
        )


async def test_positions_as_json_lines(quiet_sim: Simulator):
    held = {p.ticker: p for p in quiet_sim.engine.positions.values() if p.position}
    assert held
    code, out, err = await _export("positions", *_endpoint(quiet_sim), "--format", "jsonl")
    assert (code, err) == (0, [])
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["ticker"] for r in rows} == set(held)
    for r in rows:
        p = held[r["ticker"]]
        assert r["position"] == format_size(p.position)
        assert r["market_exposure"] == format_money(p.cost)
        assert r["realized_pnl"] == format_money(p.realized_pnl)
        assert r["fees_paid"] == format_money(p.fees)


async def test_trades_of_one_market_every_page(quiet_sim: Simulator, tmp_path: Path, monkeypatch):
    ticker = max(quiet_sim.tickers, key=lambda t: len(quiet_sim.engine.states[t].trades))
    trades = list(reversed(quiet_sim.engine.states[ticker].trades))
    monkeypatch.setitem(ex.PAGE_SIZE, "trades", 7)  # many pages
    assert len(trades) > 7 * 5
    out = tmp_path / "out.csv"
    rest = RestClient(quiet_sim.rest_url)
    with open(out, "wb") as fh:
        try:
            written = await ex.export(rest, "trades", ticker, None, "csv", Writer(fh.fileno()))
        finally:
            await rest.aclose()
    rows = _csv(out.read_text())
    assert written == len(rows) == len(trades)
    for row, t in zip(rows, trades, strict=True):
        assert (row["trade_id"], row["ticker"], row["taker_side"]) == (t.trade_id, ticker, t.taker_side)
        assert (row["yes_price"], row["no_price"]) == (format_price(t.yes_price), format_price(t.no_price))
        assert row["count"] == format_size(t.count)


async def test_market_keeps_one_market(quiet_sim: Simulator, tmp_path: Path):
    ticker = quiet_sim.tickers[1]
    mine = [f.trade_id for f in reversed(quiet_sim.engine.fills) if f.ticker == ticker]
    assert mine and len(mine) < len(quiet_sim.engine.fills)
    out = tmp_path / "out.jsonl"
    rest = RestClient(quiet_sim.rest_url, quiet_sim.signer)
    with open(out, "wb") as fh:
        try:
            await ex.export(rest, "fills", ticker, None, "jsonl", Writer(fh.fileno()))
        finally:
            await rest.aclose()
    assert [json.loads(line)["trade_id"] for line in out.read_text().splitlines()] == mine


async def test_since_keeps_the_records_at_or_after_it(quiet_sim: Simulator):
    fills = list(reversed(quiet_sim.engine.fills))
    times = sorted({f.ts_ms for f in fills})
    assert len(times) == 2  # the two batches
    later = [f.trade_id for f in fills if f.ts_ms >= times[1]]
    stamp = ex.iso_ms(times[1])
    for since in (stamp.removesuffix("Z"), stamp.replace("Z", "+00:00")):  # no zone: UTC
        code, out, _ = await _export("fills", *_endpoint(quiet_sim), "--since", since)
        assert code == 0
        assert [r["trade_id"] for r in _csv(out)] == later


# -- failures: one sentence and an exit code ------------------------------------------------------


async def test_settlements_are_the_exchange_s_with_exact_money(quiet_sim: Simulator):
    """Each settlement as the exchange lists it; revenue and value (integer cents on the wire)
    become exact dollars with six places."""
    rest = RestClient(quiet_sim.rest_url, quiet_sim.signer)
    try:
        raw = [s async for s in rest.records("/portfolio/settlements", "settlements", {}, signed=True)]
    finally:
        await rest.aclose()
    code, out, err = await _export("settlements", *_endpoint(quiet_sim), "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert (code, err) == (0, []) and raw and len(rows) == len(raw)
    for row, s in zip(rows, raw, strict=True):
        assert (row["ticker"], row["result"]) == (s["ticker"], s["market_result"])
        assert row["revenue"] == f"{s['revenue'] // 100}.{s['revenue'] % 100:02d}0000"
        assert row["value"] == f"{s['value'] // 100}.{s['value'] % 100:02d}0000"


async def test_a_wrong_key_id_is_exit_3(quiet_sim: Simulator):
    code, out, err = await _export("fills", *_endpoint(quiet_sim, key_id="not-mine"))
    assert (code, out) == (3, "")
    assert len(err) == 1 and "refused the key (GET /portfolio/fills: HTTP 401)" in err[0]


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        ([], "say what to export: one of fills, positions, settlements, trades"),
        (["orders"], "cannot export 'orders': choose one of fills, positions, settlements, trades"),
        (["trades"], "export trades needs --market TICKER: the exchange's trades are per market"),
        (["fills", "--format", "xml"], "--format 'xml' is not known: use csv or jsonl"),
        (
            ["fills", "--since", "last week"],
            "--since 'last week' is not an ISO 8601 time: use e.g. 2026-11-30 or 2026-11-30T14:00:00Z",
        ),
    ],
)
def test_bad_arguments_are_one_sentence_and_exit_2(args: list[str], sentence: str, capsys, monkeypatch):
    monkeypatch.setenv("KALSHI_TUI_CONFIG", "/nonexistent/config.toml")
    code = main(["export", *args, "--rest-url", "http://127.0.0.1:9/trade-api/v2"])
    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", f"kalshi-tui: {sentence}\n")


def test_a_cursor_that_comes_back_stops_with_one_sentence(capsys):
    with serving(lambda cursor: ([], "again")) as (url, asked):
        code = main(["export", "trades", "--market", "A", "--rest-url", url])
    out, err = capsys.readouterr()
    assert asked == ["", "again"]
    assert (code, out) == (4, "")
    assert err == (
        "kalshi-tui: could not export trades: GET /markets/trades: the server sent a page cursor "
        "it had sent before; stopped after 2 pages\n"
    )


def test_an_unreachable_exchange_is_exit_4(capsys):
    port = _closed_port()
    code = main(["export", "trades", "--market", "A", "--rest-url", f"http://127.0.0.1:{port}/trade-api/v2"])
    out, err = capsys.readouterr()
    assert (code, out) == (4, "")
    assert err == "kalshi-tui: could not export trades: GET /markets/trades: ConnectError\n"


async def test_bad_arguments_from_a_shell_exit_2():
    code, out, err = await _export("trades", "--rest-url", "http://127.0.0.1:9/trade-api/v2")
    assert (code, out, len(err)) == (2, "", 1)


async def test_piped_into_head_exits_0(quiet_sim: Simulator):
    r, w = os.pipe()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kalshi_tui",
        "export",
        "trades",
        "--market",
        quiet_sim.tickers[0],
        "--rest-url",
        quiet_sim.rest_url,
        env=ENV,
        stdout=w,
        stderr=PIPE,
    )
    head = await asyncio.create_subprocess_exec("head", "-1", stdin=r, stdout=PIPE)
    os.close(r)
    os.close(w)
    out, _ = await head.communicate()
    _, err = await proc.communicate()
    assert out.decode() == "time,ticker,yes_price,no_price,count,taker_side,trade_id\n"
    assert (proc.returncode, err) == (0, b"")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
async def test_into_a_full_disk_is_exit_5_with_one_sentence(quiet_sim: Simulator):
    with open("/dev/full", "wb") as full:
        code, _, err = await _export("fills", *_endpoint(quiet_sim), stdout=full.fileno())
    assert code == 5
    assert err == ["kalshi-tui: cannot write the output: No space left on device"]


# -- pure ---------------------------------------------------------------------------------------


def test_since_without_a_zone_is_utc():
    utc = ex.parse_since("2026-11-30T09:00:00Z")
    assert ex.parse_since("2026-11-30T09:00") == utc
    assert ex.parse_since("2026-11-30T04:00-05:00") == utc
    assert ex.parse_since("2026-11-30") == utc - 9 * 3_600_000
    with pytest.raises(UserError):
        ex.parse_since("30/11/2026")


def test_a_settlement_in_the_documented_shape():
    raw = {
        "ticker": "KXFED-26DEC-H0",
        "event_ticker": "KXFED-26DEC",
        "market_result": "yes",
        "yes_count_fp": "12.50",
        "no_count_fp": "0.00",
        "yes_total_cost_dollars": "6.125",
        "no_total_cost_dollars": "0",
        "revenue": 1250,
        "value": None,
        "fee_cost": "0.012345",
        "settled_time": "2026-11-30T14:00:00.5Z",
    }
    ms, row = ex.settlement_row(raw)
    assert ms == ex.parse_since("2026-11-30T14:00:00.500Z")
    assert row == {
        "time": "2026-11-30T14:00:00.500Z",
        "ticker": "KXFED-26DEC-H0",
        "event_ticker": "KXFED-26DEC",
        "result": "yes",
        "yes_count": "12.50",
        "no_count": "0.00",
        "yes_total_cost": "6.125000",
        "no_total_cost": "0.000000",
        "revenue": "12.500000",
        "value": "",
        "fee": "0.012345",
    }


def test_an_unreadable_record_is_skipped_not_guessed():
    with pytest.raises(ex.Unreadable):
        ex.position_row({"ticker": "A", "position_fp": "1.2.3"})
    with pytest.raises(ex.Unreadable):
        ex.trade_row({"ticker": "A", "count_fp": "1.00"})


class _Listing:
    """Stands in for RestClient.records: a listing with one record the exchange garbled."""

    async def records(self, path: str, key: str, params: dict[str, Any], *, signed: bool = False):
        yield {"ticker": "A", "position_fp": "2.00", "last_updated_ts": "2026-11-30T14:00:00Z"}
        yield {"ticker": "B", "position_fp": "two"}
        yield {"ticker": "C", "position_fp": "-1.50", "realized_pnl_dollars": "0.000001"}


async def test_an_unreadable_record_is_counted_on_stderr(tmp_path: Path, capsys):
    out = tmp_path / "out.csv"
    with open(out, "wb") as fh:
        written = await ex.export(_Listing(), "positions", None, None, "csv", Writer(fh.fileno()))  # type: ignore[arg-type]
    assert written == 2
    assert [r["ticker"] for r in _csv(out.read_text())] == ["A", "C"]
    assert _csv(out.read_text())[1]["realized_pnl"] == "0.000001"
    assert capsys.readouterr().err == (
        "kalshi-tui: skipped 1 positions record(s) that could not be read (first: bad position_fp)\n"
    )


def test_csv_quotes_what_needs_quoting():
    row = {c: "" for c in ex.KINDS["trades"].columns} | {"ticker": 'A,"B"'}
    text = ex.render("csv", ex.KINDS["trades"].columns, [row], header=True).decode()
    assert _csv(text)[0]["ticker"] == 'A,"B"'
