"""Record and replay: a recording made against the simulator over real sockets with a real key
replays, through the same machine and store, to the very books held when recording stopped."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
import zstandard

from bench.waiting import until
from kalshi_tui.auth import Signer
from kalshi_tui.config import StreamSettings
from kalshi_tui.sim import Simulator
from kalshi_tui.store import LIVE, Store
from kalshi_tui.stream import Pool
from kalshi_tui.stream.recorder import Recorder
from kalshi_tui.stream.replay import checkpoint, read_records, replay_all
from kalshi_tui.tail import books_json

FAST = StreamSettings(
    backoff_base=0.05, backoff_cap=0.3, stable_after=5.0, dead_link_timeout=2.0, commands_per_second=50.0
)


class SpySigner(Signer):
    """The real signer, remembering every signature it made (to look for them in the file)."""

    made: list[str]

    def sign(self, timestamp_ms: str, method: str, path: str) -> str:
        sig = super().sign(timestamp_ms, method, path)
        self.made.append(sig)
        return sig


NAME = "rec.jsonl.zst"  # zstd; a name ending in .gz records gzip


def text_of(path: Path) -> str:
    """A recording's text, read with the format's own tool (not the replay's reader)."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        return gzip.decompress(data).decode()
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    return reader.read().decode()


def held(store: Store) -> dict[str, object]:
    """Every book level by level, as integers, with its staleness."""
    return {
        t: (sorted(s.book.yes.items()), sorted(s.book.no.items()), s.book.synced)
        for t, s in sorted(store.markets.items())
    }


async def record(
    tmp: Path, *, max_bytes: int = 1 << 30, name: str = NAME
) -> tuple[Store, Recorder, list[str], Simulator]:
    async with Simulator(seed=5, rate=2000, markets=12) as sim:
        assert sim.signer is not None
        signer = SpySigner(sim.key_id, sim.signer._key)
        signer.made = []
        store = Store()
        recorder = Recorder(tmp / name, max_bytes=max_bytes, keep=50)
        pool = Pool(sim.ws_url, signer, store, FAST, markets=sim.tickers[:6], recorder=recorder)
        async with pool.running() as task:
            await until(lambda: store.metrics.state == LIVE or task.done(), "connected")
            await until(lambda: store.metrics.messages > 400, "400 frames")
            await pool.add_markets(sim.tickers[6:9])  # a live subscription edit
            await until(lambda: store.metrics.messages > 900, "900 frames")
            sim.faults.drop_frame()  # a gap: the machine resyncs the books
            await until(lambda: store.metrics.gaps >= 1, "the gap seen")
            await until(lambda: store.metrics.messages > 1500, "1500 frames")
            sim.faults.kill_connections()  # a reconnect: subscribe all over again
            await until(lambda: store.metrics.reconnects >= 1, "the drop seen")
            await until(lambda: store.metrics.state == LIVE, "connected again")
            await until(lambda: store.metrics.messages > 2500, "2500 frames")
            await pool.remove_markets(sim.tickers[:1])
            await until(lambda: store.metrics.messages > 3000, "3000 frames")
            sim.pause()
            await pool.close()
        recorder.close()
        return store, recorder, signer.made, sim


@pytest.mark.parametrize("name", [NAME, "rec.jsonl.gz"])
async def test_a_replay_ends_on_the_books_held_when_recording_stopped(tmp_path: Path, name: str) -> None:
    store, recorder, signatures, sim = await record(tmp_path, name=name)
    assert recorder.dropped == 0 and recorder.files == 1
    dump = held(store)
    assert len(dump) >= 8 and store.metrics.gaps >= 1 and store.metrics.reconnects >= 1
    replayed = Store()
    rp = replay_all([tmp_path / name], replayed, settings=FAST)
    assert rp.frames > 3000
    assert held(replayed) == dump
    assert books_json(replayed) == books_json(store)

    # The file holds frames only: no key id, signature or header.
    text = text_of(tmp_path / name)
    assert signatures and not any(sig in text for sig in signatures)
    assert sim.key_id not in text and "kalshi-access" not in text.lower()
    kinds = {json.loads(line)["dir"] for line in text.splitlines()}
    assert kinds == {"checkpoint", "open", "send", "recv", "close"}


async def test_rotated_files_each_replay_on_their_own(tmp_path: Path) -> None:
    store, recorder, _, _ = await record(tmp_path, max_bytes=20_000)
    files = sorted(tmp_path.glob(f"{NAME}.*"), key=lambda p: -int(p.suffix[1:]))
    assert recorder.files >= 3 and len(files) == recorder.files - 1
    newest = tmp_path / NAME
    dump = held(store)
    # The newest file alone starts from its checkpoint and ends on the same books...
    alone = Store()
    replay_all([newest], alone, settings=FAST)
    assert held(alone) == dump
    # ...and so do all of them in a row, oldest first.
    chained = Store()
    replay_all([*files, newest], chained, settings=FAST)
    assert held(chained) == dump
    for path in [*files, newest]:
        assert next(read_records([path]))[2] == "checkpoint"


def test_a_checkpoint_restores_subscriptions_and_books() -> None:
    from kalshi_tui.protocol import messages as m
    from kalshi_tui.stream.machine import Machine, Sub

    store = Store()
    mc = Machine(store, FAST)
    sub = Sub("orderbook_delta", {"A"}, sid=3)
    mc.subs.append(sub)
    mc.by_sid[3] = sub
    mc.online = True
    store.apply(m.OrderbookSnapshot(sid=3, seq=1, market_ticker="A", yes=[(4000, 100)], no=[(5000, 200)]))
    sub.last_seq = 7
    cp = json.loads(json.dumps(checkpoint(store, [mc])))
    again = Store()
    rp = replay_all([], again)
    rp.apply((0, -1, "checkpoint", cp))
    assert held(again) == held(store)
    # The next delta of that sid is applied by the machine as live: seq 8 follows 7.
    delta = json.dumps(
        {
            "type": "orderbook_delta",
            "sid": 3,
            "seq": 8,
            "msg": {"market_ticker": "A", "price_dollars": "0.4000", "delta_fp": "1.00", "side": "yes"},
        }
    )
    rp.apply((1, 0, "recv", delta))
    assert again.markets["A"].book.yes == {4000: 200} and again.metrics.gaps == 0


async def test_tail_replay_prints_the_events_and_writes_the_books(tmp_path: Path) -> None:
    import asyncio
    import sys

    store, _, _, _ = await record(tmp_path)
    books = tmp_path / "books.json"
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "kalshi_tui", "tail", "--replay", str(tmp_path / NAME)),
        *("--books-out", str(books)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) > 3000 and {e["type"] for e in events} >= {"orderbook_snapshot", "orderbook_delta"}
    assert json.loads(books.read_text()) == json.loads(json.dumps(books_json(store)))


async def test_replay_of_a_missing_or_bad_file_is_one_sentence(tmp_path: Path) -> None:
    import asyncio
    import sys

    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"not gzip at all")
    for path in (tmp_path / "missing.gz", bad):
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "kalshi_tui", "replay", "--tail", str(path)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        assert proc.returncode == 2 and "Traceback" not in err.decode()
        assert len(err.decode().strip().splitlines()) == 1 and str(path) in err.decode()


async def test_the_dashboard_replays_with_pause_step_and_speed_keys(tmp_path: Path) -> None:
    from rich.console import Console
    from textual.widgets import Static

    from kalshi_tui.stream.replay import RecordingClock, ReplayFeed, recorded_markets
    from kalshi_tui.ui.help import KeysScreen
    from kalshi_tui.ui.replay import ReplayApp, replay_profile

    store, _, _, _ = await record(tmp_path)
    path = tmp_path / NAME
    clock = RecordingClock()
    replayed = Store(clock=clock)
    feed = ReplayFeed([path], replayed, FAST, paused=True, clock=clock)
    profile = replay_profile(recorded_markets([path]))
    app = ReplayApp(replayed, feed=feed, replay=feed, profile=profile, clock=clock, watch_terminal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert feed.replayer.frames == 0  # started paused: nothing played
        await pilot.press("n")
        await until(lambda: feed.replayer.frames == 1, "one frame stepped")
        await pilot.press("n", "n")
        await until(lambda: feed.replayer.frames == 3, "two more frames")
        assert clock() == feed.t_ns / 1e9 > 0  # the app's clock is the recording's
        await pilot.press("greater_than_sign")
        assert feed.speed == 2.0
        await pilot.press("question_mark")
        assert isinstance(app.screen, KeysScreen)
        shown = app.screen.query_one("#keys-table", Static).content
        console = Console(file=io.StringIO(), width=120)
        console.print(shown)
        assert "Replay: pause / play" in console.file.getvalue()  # type: ignore[attr-defined]
        await pilot.press("escape")
        feed.set_speed(1024.0)
        await pilot.press("space")  # play to the end
        await until(lambda: feed.finished.is_set(), "the recording played")
        assert "replay" in app.sub_title
        assert held(replayed) == held(store)
        await pilot.press("q")


def test_the_profile_can_ask_for_a_recording(tmp_path: Path) -> None:
    import argparse

    from kalshi_tui.config import load_config
    from kalshi_tui.tail import make_recorder

    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[profiles.main]\nenvironment = "demo"\n'
        '[profiles.main.stream]\nrecord = "rec/stream.jsonl.gz"\nrecord_max_mb = 2.0\nrecord_keep = 3\n'
    )
    (tmp_path / "rec").mkdir()
    settings = load_config(cfg).profile("main").stream
    recorder = make_recorder(argparse.Namespace(), settings)
    assert recorder is not None and recorder.path == tmp_path / "rec" / "stream.jsonl.gz"
    assert (recorder.max_bytes, recorder.keep) == (2 * 1024 * 1024, 3)
    flags = argparse.Namespace(record=str(tmp_path / "x.gz"), record_max_mb=None, record_keep=0)
    recorder = make_recorder(flags, settings)  # the flag wins over the profile
    assert recorder is not None and recorder.path == tmp_path / "x.gz" and recorder.keep == 0
    assert make_recorder(argparse.Namespace(), None) is None


def test_a_full_queue_drops_counts_and_starts_a_whole_file(tmp_path: Path) -> None:
    """Frames that don't fit are counted, and the next file starts with a checkpoint."""
    recorder = Recorder(tmp_path / "r.gz", queue_size=4, keep=3)
    recorder.checkpoint = lambda: {"books": {}, "conns": []}
    recorder._started = True  # the thread is not running: nothing is taken from the queue
    recorder._q.append((0, -1, "checkpoint", recorder.checkpoint()))
    for i in range(6):
        recorder.recv(0, f'{{"n":{i}}}')
    assert recorder.dropped == 3 and recorder.summary() is not None
    taken = [recorder._q.popleft() for _ in range(3)]  # as if the writer took them
    recorder.recv(0, '{"n":9}')  # room again: a new file, checkpoint first
    recorder._q.extendleft(reversed(taken))
    recorder._stop = True
    recorder._write_loop()
    newest = list(read_records([tmp_path / "r.gz"]))
    older = list(read_records([tmp_path / "r.gz.1"]))
    assert [r[2] for r in older] == ["checkpoint", "recv", "recv", "recv"]
    assert [r[2] for r in newest] == ["checkpoint", "recv"] and newest[1][3] == '{"n":9}'


@pytest.mark.parametrize("name", [NAME, "rec.jsonl.gz"])
def test_a_recording_cut_short_replays_up_to_where_it_ends(tmp_path: Path, name: str) -> None:
    """The recorder was killed mid-write: what is in the file still replays, without an error."""
    recorder = Recorder(tmp_path / name)
    recorder.start()
    for n in range(5000):
        recorder.put(0, "recv", json.dumps({"type": "ticker", "sid": 1, "seq": n + 1, "msg": {"n": n}}))
    recorder.close()
    whole = list(read_records([tmp_path / name]))
    assert len(whole) == 5001 and whole[0][2] == "checkpoint"
    data = (tmp_path / name).read_bytes()
    cut = tmp_path / f"cut-{name}"
    cut.write_bytes(data[: len(data) * 2 // 3])
    part = list(read_records([cut]))
    assert 0 < len(part) < len(whole) and part == whole[: len(part)]
