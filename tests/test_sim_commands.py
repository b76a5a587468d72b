"""The simulator's commands over a real socket: answers, error codes, seq accounting."""

from __future__ import annotations

import json
from typing import Any

from kalshi_tui.auth import Signer, generate_key
from kalshi_tui.book import SeqTracker
from kalshi_tui.numbers import format_size
from kalshi_tui.protocol import OrderbookDelta, OrderbookSnapshot, decode
from kalshi_tui.store import Store


def _error(frame: dict[str, Any]) -> int:
    assert frame["type"] == "error", frame
    return int(frame["msg"]["code"])


async def test_subscribe_answers_one_subscribed_per_channel_then_snapshots(make_sim, ws_connect):
    async with make_sim(markets=6, start_paused=True) as sim, ws_connect(sim) as c:
        tickers = sim.tickers[:2]
        cid = await c.send(
            "subscribe", {"channels": ["orderbook_delta", "ticker", "trade"], "market_tickers": tickers}
        )
        frames = [await c.recv() for _ in range(5)]
        assert frames[0] == {"type": "subscribed", "id": cid, "msg": {"channel": "orderbook_delta", "sid": 1}}
        snaps = frames[1:3]
        assert [f["type"] for f in snaps] == ["orderbook_snapshot"] * 2
        assert [(f["sid"], f["seq"]) for f in snaps] == [(1, 1), (1, 2)]
        assert [f["msg"]["market_ticker"] for f in snaps] == tickers
        assert "id" not in snaps[0]
        assert frames[3] == {"type": "subscribed", "id": cid, "msg": {"channel": "ticker", "sid": 2}}
        assert frames[4] == {"type": "subscribed", "id": cid, "msg": {"channel": "trade", "sid": 3}}
        assert await c.sync() == []  # nothing else: the market is paused


async def test_subscribing_again_answers_ok_without_a_snapshot(make_sim, ws_connect):
    async with make_sim(markets=6, start_paused=True) as sim, ws_connect(sim) as c:
        t = sim.tickers[:2]
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": t})
        await c.sync()
        cid = await c.send("subscribe", {"channels": ["orderbook_delta"], "market_ticker": t[1]})
        ok = await c.recv()
        assert ok == {"type": "ok", "id": cid, "sid": 1, "seq": 3, "msg": {"market_tickers": t}}
        assert await c.sync() == []


async def test_list_subscriptions_and_unsubscribe(make_sim, ws_connect):
    async with make_sim(markets=6, start_paused=True) as sim, ws_connect(sim) as c:
        await c.send(
            "subscribe", {"channels": ["orderbook_delta", "ticker"], "market_tickers": sim.tickers[:1]}
        )
        await c.sync()
        cid = await c.send("list_subscriptions")
        assert await c.recv() == {
            "type": "ok",
            "id": cid,
            "msg": [{"channel": "orderbook_delta", "sid": 1}, {"channel": "ticker", "sid": 2}],
        }
        cid = await c.send("unsubscribe", {"sids": [1, 2, 9]})
        a, b, err = [await c.recv() for _ in range(3)]
        assert a == {"type": "unsubscribed", "id": cid, "sid": 1, "seq": 2}  # seq: after snapshot 1
        assert b == {"type": "unsubscribed", "id": cid, "sid": 2}  # ticker frames carry no seq
        assert err == {"type": "error", "id": cid, "msg": {"code": 7, "msg": "Unknown subscription ID"}}
        sim.step(300)
        assert await c.sync() == []  # nothing arrives for the ended sids
        cid = await c.send("list_subscriptions")
        assert (await c.recv())["msg"] == []


async def test_update_subscription_add_delete_and_skip_ticker_ack(make_sim, ws_connect):
    async with make_sim(markets=8, start_paused=True) as sim, ws_connect(sim) as c:
        t = sim.tickers
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": t[:1]})
        await c.sync()
        cid = await c.send(
            "update_subscription",
            {"sids": [1], "action": "add_markets", "market_tickers": [t[1], t[2], t[0]]},
        )
        ok, s1, s2 = [await c.recv() for _ in range(3)]
        assert ok == {
            "type": "ok",
            "id": cid,
            "sid": 1,
            "seq": 2,
            "msg": {"market_tickers": [t[0], t[1], t[2]]},
        }
        assert [(s["seq"], s["msg"]["market_ticker"]) for s in (s1, s2)] == [(3, t[1]), (4, t[2])]
        cid = await c.send(
            "update_subscription", {"sid": 1, "action": "delete_markets", "market_ticker": t[0]}
        )
        assert await c.recv() == {
            "type": "ok",
            "id": cid,
            "sid": 1,
            "seq": 5,
            "msg": {"market_tickers": [t[1], t[2]]},
        }
        sim.step(2000)
        frames = await c.sync()
        assert frames and {f["msg"]["market_ticker"] for f in frames} <= {t[1], t[2]}
        cid = await c.send(
            "update_subscription",
            {"sids": [1], "action": "add_markets", "market_tickers": [t[3]], "skip_ticker_ack": True},
        )
        ok = await c.recv()
        assert (ok["type"], ok["id"], ok["sid"], ok["msg"]) == ("ok", cid, 1, {})


async def test_get_snapshot_carries_the_command_id_and_continues_the_seq(make_sim, ws_connect):
    async with make_sim(markets=6, start_paused=True) as sim, ws_connect(sim) as c:
        t = sim.tickers[:3]
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": t})
        await c.sync()
        sim.step(200)
        before = await c.sync()
        last = max(f["seq"] for f in before)
        cid = await c.send(
            "update_subscription", {"sids": [1], "action": "get_snapshot", "market_tickers": [t[2], t[0]]}
        )
        a, b = await c.answers(cid, 2)
        assert [(f["type"], f["sid"], f["seq"], f["msg"]["market_ticker"]) for f in (a, b)] == [
            ("orderbook_snapshot", 1, last + 1, t[2]),
            ("orderbook_snapshot", 1, last + 2, t[0]),
        ]
        assert await c.sync() == []  # no ok after get_snapshot (as captured)


async def test_control_frames_consume_seq_and_the_stream_has_no_gaps(make_sim, ws_connect):
    async with make_sim(markets=6, start_paused=True) as sim, ws_connect(sim) as c:
        t = sim.tickers
        await c.send("subscribe", {"channels": ["orderbook_delta", "trade"], "market_tickers": t[:2]})
        frames = await c.sync()
        sim.step(300)
        await c.send("update_subscription", {"sids": [1], "action": "get_snapshot"})  # 14
        frames += await c.sync()
        sim.step(300)
        await c.send(
            "update_subscription", {"sids": [2], "action": "get_snapshot", "market_tickers": t[:1]}
        )  # 13 on the trade sid
        await c.send("update_subscription", {"sids": [1], "action": "add_markets", "market_tickers": [t[2]]})
        frames += await c.sync()
        sim.step(300)
        await c.send("unsubscribe", {"sids": [1, 2]})
        frames += await c.sync()
        tracker = SeqTracker()
        kinds = set()
        for f in frames:
            if "seq" in f:
                assert tracker.check(f["sid"], f["seq"]) == 0, f
                kinds.add(f["type"])
        assert {"orderbook_snapshot", "orderbook_delta", "trade", "ok", "error", "unsubscribed"} <= kinds
        errors = [f for f in frames if f["type"] == "error"]
        # Sid-scoped errors carry sid and seq and no id, as the captured 13 and 14 do.
        assert [(e["msg"]["code"], e["sid"], "id" in e) for e in errors] == [(14, 1, False), (13, 2, False)]


async def test_envelope_errors_1_2_3_4_5(make_sim, ws_connect):
    async with make_sim(markets=4, start_paused=True) as sim, ws_connect(sim) as c:
        await c.ws.send("{not json")
        assert await c.recv() == {"type": "error", "msg": {"code": 1, "msg": "Unable to process message"}}
        await c.ws.send(json.dumps({"id": "seven", "cmd": "subscribe", "params": {}}))
        assert _error(await c.recv()) == 1
        await c.ws.send(json.dumps({"id": 3, "cmd": "subscribe", "params": ["ticker"]}))
        assert await c.recv() == {
            "type": "error",
            "id": 3,
            "msg": {"code": 1, "msg": "Unable to process message"},
        }
        cid = await c.send("subscribe")
        assert await c.recv() == {"type": "error", "id": cid, "msg": {"code": 2, "msg": "Params required"}}
        cid = await c.send("subscribe", {})
        assert (await c.recv())["msg"]["code"] == 3
        cid = await c.send("subscribe", {"channels": []})
        assert (await c.recv())["msg"]["code"] == 3
        cid = await c.send("unsubscribe", {})
        assert await c.recv() == {
            "type": "error",
            "id": cid,
            "msg": {"code": 4, "msg": "Subscription IDs required"},
        }
        cid = await c.send("unsubscribe", {"sids": ["1"]})
        assert _error(await c.recv()) == 1
        cid = await c.send("frobnicate", {})
        assert await c.recv() == {"type": "error", "id": cid, "msg": {"code": 5, "msg": "Unknown command"}}


async def test_subscribe_errors_8_11_14_16(make_sim, ws_connect):
    async with make_sim(markets=4, start_paused=True) as sim, ws_connect(sim) as c:
        cid = await c.send("subscribe", {"channels": ["ticker", "ticker_v2"]})
        assert await c.recv() == {
            "type": "error",
            "id": cid,
            "msg": {"code": 8, "msg": "Unknown channel name"},
        }
        cid = await c.send("subscribe", {"channels": ["ticker"], "market_tickers": [""]})
        assert (await c.recv())["msg"]["code"] == 11
        cid = await c.send("subscribe", {"channels": ["ticker"], "market_tickers": "ABC"})
        assert (await c.recv())["msg"]["code"] == 1
        cid = await c.send("subscribe", {"channels": ["orderbook_delta"]})
        assert await c.recv() == {
            "type": "error",
            "id": cid,
            "msg": {"code": 14, "msg": "Market Ticker required"},
        }
        cid = await c.send(
            "subscribe",
            {"channels": ["orderbook_delta"], "market_tickers": [sim.tickers[0], "KXNOPE-26DEC-X"]},
        )
        assert await c.recv() == {
            "type": "error",
            "id": cid,
            "msg": {"code": 16, "msg": "Market not found", "market_tickers": ["KXNOPE-26DEC-X"]},
        }
        cid = await c.send("subscribe", {"channels": ["ticker"], "use_yes_price": "yes"})
        assert (await c.recv())["msg"]["code"] == 1
        cid = await c.send("list_subscriptions")
        assert (await c.recv())["msg"] == []  # failed commands subscribed nothing


async def test_update_errors_7_12_13_15_16_11(make_sim, ws_connect):
    async with make_sim(markets=4, start_paused=True) as sim, ws_connect(sim) as c:
        t = sim.tickers
        await c.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": t[:1]})
        await c.send("subscribe", {"channels": ["ticker"]})
        await c.sync()
        cid = await c.send(
            "update_subscription", {"sids": [42], "action": "add_markets", "market_tickers": t[:1]}
        )
        assert await c.recv() == {
            "type": "error",
            "id": cid,
            "msg": {"code": 7, "msg": "Unknown subscription ID"},
        }
        cid = await c.send("update_subscription", {"sids": [1, 2], "action": "add_markets"})
        assert await c.recv() == {
            "type": "error",
            "id": cid,
            "msg": {"code": 12, "msg": "Exactly one subscription ID is required"},
        }
        cid = await c.send("update_subscription", {"action": "add_markets"})
        assert (await c.recv())["msg"]["code"] == 12
        seq = 1  # the snapshot used 1; each sid-scoped error takes the next
        for params, code in [
            ({"sid": 1}, 15),
            ({"sid": 1, "action": "frobnicate", "market_tickers": t[:1]}, 13),
            ({"sid": 1, "action": "add_markets", "market_tickers": ["NOPE"]}, 16),
            ({"sid": 1, "action": "get_snapshot", "market_tickers": t[1:2]}, 11),
        ]:
            await c.send("update_subscription", params)
            seq += 1
            err = await c.recv()
            assert (err["type"], err["sid"], err["seq"], err["msg"]["code"]) == ("error", 1, seq, code)
        await c.send("update_subscription", {"sid": 2, "action": "add_markets", "market_tickers": t[:1]})
        err = await c.recv()  # an every-market subscription has no list to add to
        assert (err["sid"], err["msg"]["code"], "seq" in err) == (2, 13, False)


async def test_market_cap_26_and_command_rate_27(make_sim, ws_connect):
    async with (
        make_sim(markets=8, start_paused=True, market_cap=3, command_rate=3) as sim,
        ws_connect(sim) as c,
    ):
        t = sim.tickers
        cid = await c.send("subscribe", {"channels": ["ticker"], "market_tickers": t[:4]})
        assert await c.recv() == {
            "type": "error",
            "id": cid,
            "msg": {"code": 26, "msg": "Subscription market limit exceeded"},
        }
        await c.send("subscribe", {"channels": ["ticker"], "market_tickers": t[:3]})
        await c.sync()
        await c.send("update_subscription", {"sid": 1, "action": "add_markets", "market_tickers": [t[4]]})
        err = await c.recv()
        assert (err["sid"], err["msg"]["code"]) == (1, 26)
        # Two more commands fill the rate window of 3 per second; the next is refused.
        for _ in range(2):
            await c.send(
                "update_subscription", {"sid": 1, "action": "delete_markets", "market_tickers": [t[0]]}
            )
            assert (await c.recv())["type"] == "ok"
        await c.send("update_subscription", {"sid": 1, "action": "delete_markets", "market_tickers": [t[1]]})
        err = await c.recv()
        assert (err["type"], err["sid"], err["msg"]) == ("error", 1, {"code": 27, "msg": "Too many requests"})


async def test_private_channels_need_an_account_key_9(make_sim, ws_connect):
    async with make_sim(markets=4, start_paused=True) as sim:
        market_only = Signer("market-data-only", generate_key())
        sim.add_key(market_only.key_id, market_only._key.public_key(), account=False)
        async with ws_connect(sim, signer=market_only) as c:
            cid = await c.send("subscribe", {"channels": ["fill"]})
            assert await c.recv() == {
                "type": "error",
                "id": cid,
                "msg": {"code": 9, "msg": "Authentication required"},
            }
            cid = await c.send("subscribe", {"channels": ["ticker"]})
            assert (await c.recv())["type"] == "subscribed"
        async with ws_connect(sim) as c:
            await c.send("subscribe", {"channels": ["fill", "market_positions"]})
            assert [(await c.recv())["type"] for _ in range(2)] == ["subscribed", "subscribed"]


async def test_ticker_send_initial_snapshot(make_sim, ws_connect):
    async with make_sim(markets=5, start_paused=True) as sim, ws_connect(sim) as c:
        t = sim.tickers[:3]
        await c.send(
            "subscribe", {"channels": ["ticker"], "market_tickers": t, "send_initial_snapshot": True}
        )
        frames = await c.sync()
        assert frames[0]["type"] == "subscribed"
        assert [(f["type"], f["msg"]["market_ticker"]) for f in frames[1:]] == [("ticker", x) for x in t]
        book = sim.book(t[0])
        bid = book.yes_bid
        assert frames[1]["msg"]["yes_bid_dollars"] == f"{(bid.price if bid else 0) / 10_000:.4f}"
        await c.send("subscribe", {"channels": ["ticker"], "market_tickers": sim.tickers[3:4]})
        assert [f["type"] for f in await c.sync()] == ["subscribed"]  # no snapshot unless asked


async def test_subscribe_by_market_id_streams_only_those_markets(make_sim, ws_connect):
    async with make_sim(markets=6, start_paused=True) as sim, ws_connect(sim) as c:
        t = sim.tickers
        ids = [sim.engine.universe.markets[x].market_id for x in t[:2]]
        await c.send("subscribe", {"channels": ["orderbook_delta", "ticker", "trade"], "market_ids": ids})
        first = await c.sync()
        snaps = [f["msg"] for f in first if f["type"] == "orderbook_snapshot"]
        assert [(s["market_ticker"], s["market_id"]) for s in snaps] == list(zip(t[:2], ids, strict=True))
        sim.step(3000)
        frames = [f for f in await c.sync() if f["type"] in ("orderbook_delta", "ticker", "trade")]
        assert {f["type"] for f in frames} == {"orderbook_delta", "ticker", "trade"}
        assert {f["msg"]["market_ticker"] for f in frames} == set(t[:2])  # the others stay quiet
        # One id (market_id) and tickers together; the ok lists the tickers either way.
        cid = await c.send(
            "update_subscription",
            {"sid": 1, "action": "add_markets", "market_id": sim.engine.universe.markets[t[2]].market_id},
        )
        ok = (await c.answers(cid))[0]
        assert ok["msg"]["market_tickers"] == t[:3]
        cid = await c.send("subscribe", {"channels": ["ticker"], "market_ids": [ids[0], "no-such-id"]})
        assert (await c.answers(cid))[0]["msg"] == {
            "code": 16,
            "msg": "Market not found",
            "market_tickers": ["no-such-id"],
        }


async def test_channels_the_simulator_does_not_feed_are_acknowledged(make_sim, ws_connect):
    async with make_sim(markets=4, start_paused=True) as sim, ws_connect(sim) as c:
        unfed = ["communications", "order_group_updates", "multivariate_market_lifecycle"]
        cid = await c.send("subscribe", {"channels": unfed})
        answers = await c.answers(cid, 3)
        assert [(a["type"], a["msg"]["channel"]) for a in answers] == [("subscribed", ch) for ch in unfed]
        sim.step(2000)
        assert [f for f in await c.sync() if f["type"] not in ("ok",)] == []  # nothing to say
        cid = await c.send("subscribe", {"channels": ["ticker_v2"]})
        assert (await c.answers(cid))[0]["msg"]["code"] == 8  # retired: still unknown
        cid = await c.send("unsubscribe", {"sids": [a["msg"]["sid"] for a in answers]})
        assert [f["type"] for f in await c.answers(cid, 3)] == ["unsubscribed"] * 3
        market_only = Signer("market-data-only", generate_key())
        sim.add_key(market_only.key_id, market_only._key.public_key(), account=False)
        async with ws_connect(sim, signer=market_only) as m:
            for channel in ("communications", "order_group_updates", "user_orders"):
                cid = await m.send("subscribe", {"channels": [channel]})
                assert (await m.answers(cid))[0]["msg"]["code"] == 9, channel


async def test_user_orders_follow_the_demo_accounts_resting_orders(make_sim, ws_connect):
    async with (
        make_sim(seed=21, markets=6, start_paused=True, user_share=0.2, lifecycle_rate=0.0) as sim,
        ws_connect(sim) as c,
    ):
        await c.send("subscribe", {"channels": ["user_orders", "fill"]})
        await c.sync()
        sim.engine.orders.rate = 1 / 20  # busy account: an order change every ~20 steps
        sim.step(6000)
        frames = await c.sync()
        updates = [f for f in frames if f["type"] == "user_order"]
        assert all("seq" not in f for f in updates)
        reasons = {f["msg"]["last_update_reason"] for f in updates}
        assert {"created", "canceled", "fill"} <= reasons
        # The last update of each order is the order as the account holds it now.
        last = {f["msg"]["order_id"]: f["msg"] for f in updates}
        truth = sim.engine.orders.orders
        for oid, msg in last.items():
            o = truth[oid]
            assert (msg["ticker"], msg["status"], msg["outcome_side"]) == (o.ticker, o.status, o.side)
            assert (msg["fill_count_fp"], msg["remaining_count_fp"]) == (
                format_size(o.filled),
                format_size(o.remaining),
            )
            assert msg["book_side"] == ("bid" if o.side == "yes" else "ask")
        # A resting order sits in the book at its price; a fill of one names its order.
        for o in sim.engine.orders.resting():
            book = sim.book(o.ticker)
            levels = book.yes if o.side == "yes" else book.no
            assert levels.get(o.price, 0) > 0
        order_fills = [f["msg"] for f in frames if f["type"] == "fill" and f["msg"]["order_id"] in truth]
        assert order_fills and all(f["is_taker"] is False for f in order_fills)


async def test_quiet_markets_snapshot_empty_as_the_exchange_sends_them(make_sim, ws_connect):
    async with make_sim(markets=20, start_paused=True, lifecycle_rate=0.0) as sim, ws_connect(sim) as c:
        quiet = [t for t, m in sim.engine.universe.markets.items() if m.quiet]
        assert len(quiet) == 2 and not set(quiet) & set(sim.tickers)
        live = sim.tickers[0]
        await c.send(
            "subscribe", {"channels": ["orderbook_delta", "ticker"], "market_tickers": [*quiet, live]}
        )
        sim.step(3000)
        frames = await c.sync()
        snaps = {f["msg"]["market_ticker"]: f for f in frames if f["type"] == "orderbook_snapshot"}
        for t in quiet:  # no ladder keys at all, and no market id: as captured from the exchange
            assert snaps[t]["msg"] == {"market_ticker": t, "market_id": ""}
        assert not [
            f for f in frames if f["type"] == "orderbook_delta" and f["msg"]["market_ticker"] in quiet
        ]
        # The client's path: decoded, stored, the book is empty and live (not stale, not missing).
        store = Store()
        for raw in c.raw:
            msg = decode(raw)
            if isinstance(msg, (OrderbookSnapshot, OrderbookDelta)):
                store.apply(msg)
        for t in quiet:
            book = store.markets[t].book
            assert book.synced and book.stale_reason is None
            assert (book.yes_bid, book.yes_ask, dict(book.yes), dict(book.no)) == (None, None, {}, {})
        # A book that empties (the market closes) comes back empty on get_snapshot, replacing
        # what the client held.
        assert store.markets[live].book.yes_bid is not None
        out: list[Any] = []
        sim.engine.close_market(live, out)
        sim.hub.dispatch(out)
        cid = await c.send(
            "update_subscription", {"sid": 1, "action": "get_snapshot", "market_tickers": [live]}
        )
        answer = (await c.answers(cid))[0]
        assert answer["msg"] == {"market_ticker": live, "market_id": ""}
        store.apply(decode(c.raw[-1]))  # the answer is the last frame read
        book = store.markets[live].book
        assert book.synced and (book.yes_bid, book.no_bid) == (None, None)
