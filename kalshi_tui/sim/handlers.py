"""The four client commands and every documented way to get them wrong.

Decisions where Kalshi's documentation is silent (each one matches the captured frames
where a capture exists):

* Type errors in the envelope or in a known parameter (``id`` not an integer, ``sids`` not
  a list of integers, ``channels`` not a list of strings, a flag that is not a boolean...)
  answer code 1. A value of the right type that makes no sense (an empty ticker, both
  ``sid`` and ``sids`` disagreeing) answers 11.
* Errors about one subscription (after ``update_subscription`` named a known sid) carry
  ``sid`` and the next ``seq`` of that sid and no ``id``, as the captured errors 13 and 14
  do. Every other error carries the command's ``id``.
* ``orderbook_delta`` needs market tickers (14). The other channels without tickers mean
  every market. Any unknown ticker fails the whole command with 16, naming them. Markets
  may be named by ``market_id``/``market_ids`` too (an unknown id: 16, naming it).
* Channels of the spec that nothing here feeds (communications, order_group_updates,
  multivariate_market_lifecycle) are acknowledged like the others and stay silent.
* Code 9: a key registered without account access may read market data but not the
  ``fill`` and ``market_positions`` channels. The default key has account access.
* ``update_subscription``: an action that is not one of the three, or one the sid's channel
  cannot take (``get_snapshot`` off the order book, adding markets to an every-market
  subscription), answers 13; tickers that are not in the subscription for ``get_snapshot``
  answer 11. ``get_snapshot`` answers only with the snapshots (carrying the command id), as
  captured; ``add_markets`` answers ``ok`` and then snapshots of the added order books.
* ``skip_ticker_ack`` makes ``ok`` answers leave out ``market_tickers``.
* Control frames on channels whose data has no ``seq`` (ticker, fill, market_positions)
  carry no ``seq`` either.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from kalshi_tui.sim import frames
from kalshi_tui.sim.engine import DELTA, TICKER, Engine
from kalshi_tui.sim.hub import CHANNELS, PRIVATE_CHANNELS, Client, Hub, ServerSubscription

_decode = msgspec.json.Decoder().decode

ACTIONS = ("add_markets", "delete_markets", "get_snapshot")
COMMANDS = ("subscribe", "unsubscribe", "update_subscription", "list_subscriptions")


class CommandError(Exception):
    def __init__(self, code: int, tickers: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.tickers = tickers


class SidError(CommandError):
    """An error about one subscription: it carries that sid and consumes its seq."""

    def __init__(self, sub: ServerSubscription, code: int) -> None:
        super().__init__(code)
        self.sub = sub


def _is_int(v: object) -> bool:
    return type(v) is int


def _flag(params: dict[str, Any], name: str) -> bool:
    v = params.get(name, False)
    if v is None:
        return False
    if type(v) is not bool:
        raise CommandError(1)
    return v


class CommandHandler:
    """Runs one client's commands against the engine and the hub."""

    def __init__(
        self,
        engine: Engine,
        hub: Hub,
        *,
        market_cap: int,
        command_rate: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.hub = hub
        self.market_cap = market_cap
        self.command_rate = command_rate
        self.clock = clock

    # -- entry point --------------------------------------------------------------------------

    def handle(self, client: Client, raw: str | bytes, *, reject: bool = False) -> None:
        """Answer one command frame; every answer is pushed to the client's queue."""
        cmd_id: int | None = None
        try:
            try:
                obj = _decode(raw)
            except msgspec.DecodeError:
                raise CommandError(1) from None
            if not isinstance(obj, dict):
                raise CommandError(1)
            if "id" in obj and obj["id"] is not None:
                if not _is_int(obj["id"]):
                    raise CommandError(1)
                cmd_id = obj["id"]
            cmd = obj.get("cmd")
            if not isinstance(cmd, str):
                raise CommandError(1)
            if cmd not in COMMANDS:
                raise CommandError(5)
            params = obj.get("params")
            if params is None:
                if cmd != "list_subscriptions":
                    raise CommandError(2)
                params = {}
            if not isinstance(params, dict):
                raise CommandError(1)
            if reject:
                self._reject(client, cmd, params)
            getattr(self, "_" + cmd)(client, cmd_id, params)
        except SidError as exc:
            seq = exc.sub.next_seq() if exc.sub.active else None
            client.push(frames.error(exc.code, sid=exc.sub.sid, seq=seq, tickers=exc.tickers))
        except CommandError as exc:
            client.push(frames.error(exc.code, cmd_id=cmd_id, tickers=exc.tickers))

    def _reject(self, client: Client, cmd: str, params: dict[str, Any]) -> None:
        """Fault: answer 27 to everything (sid-scoped when the command names one sid)."""
        if cmd == "update_subscription":
            sid = params.get("sid")
            if sid is None and isinstance(params.get("sids"), list) and len(params["sids"]) == 1:
                sid = params["sids"][0]
            sub = client.subs.get(sid) if _is_int(sid) else None
            if sub is not None:
                raise SidError(sub, 27)
        raise CommandError(27)

    # -- parameters ---------------------------------------------------------------------------

    def _markets(self, params: dict[str, Any]) -> list[str] | None:
        """``market_ticker(s)`` and/or ``market_id(s)`` (the ids snapshots and tickers carry)
        as one de-duplicated list of tickers, or None when no market is named."""
        out: list[str] = []
        named = False
        for one_key, many_key in (("market_ticker", "market_tickers"), ("market_id", "market_ids")):
            one = params.get(one_key)
            many = params.get(many_key)
            names: list[str] = []
            if one is not None:
                if not isinstance(one, str):
                    raise CommandError(1)
                names.append(one)
            if many is not None:
                if not isinstance(many, list) or not all(isinstance(t, str) for t in many):
                    raise CommandError(1)
                names.extend(many)
            if any(not t for t in names):
                raise CommandError(11)
            if one is not None or many is not None:
                named = True
            if one_key == "market_id" and names:
                names = self._by_id(names)
            out.extend(names)
        if not named:
            return None
        return list(dict.fromkeys(out))

    def _by_id(self, ids: list[str]) -> list[str]:
        tickers = {m.market_id: t for t, m in self.engine.universe.markets.items()}
        unknown = [i for i in ids if i not in tickers]
        if unknown:
            raise CommandError(16, unknown)
        return [tickers[i] for i in ids]

    def _known(self, markets: list[str]) -> None:
        unknown = [t for t in markets if t not in self.engine.states]
        if unknown:
            raise CommandError(16, unknown)

    def _rate(self, sub: ServerSubscription) -> None:
        """Per-subscription command rate (27) over a sliding second."""
        now = self.clock()
        times = sub.command_times
        while times and now - times[0] >= 1.0:
            times.popleft()
        if len(times) >= self.command_rate:
            raise SidError(sub, 27)
        times.append(now)

    # -- commands -----------------------------------------------------------------------------

    def _subscribe(self, client: Client, cmd_id: int | None, params: dict[str, Any]) -> None:
        channels = params.get("channels")
        if channels is None or channels == []:
            raise CommandError(3)
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise CommandError(1)
        if any(c not in CHANNELS for c in channels):
            raise CommandError(8)
        if not client.account and any(c in PRIVATE_CHANNELS for c in channels):
            raise CommandError(9)
        markets = self._markets(params)
        yes_scale = _flag(params, "use_yes_price")
        skip_ack = _flag(params, "skip_ticker_ack")
        initial = _flag(params, "send_initial_snapshot")
        if markets is None and DELTA in channels:
            raise CommandError(14)
        if markets is not None:
            if not markets:
                raise CommandError(14)
            self._known(markets)
            if len(markets) > self.market_cap:
                raise CommandError(26)
        for channel in channels:
            existing = next(
                (s for s in client.subs.values() if s.channel == channel and s.covers(markets)), None
            )
            if existing is not None:
                # Already subscribed: the exchange answers ok and sends no snapshot.
                self._ok(client, cmd_id, existing)
                continue
            sub = ServerSubscription(
                client,
                client.new_sid(),
                channel,
                markets,
                yes_scale=yes_scale,
                skip_ticker_ack=skip_ack,
                send_initial_snapshot=initial,
            )
            self.hub.add(sub)
            client.push(frames.subscribed(cmd_id, channel, sub.sid))
            self._initial(sub, sub.markets)

    def _initial(self, sub: ServerSubscription, markets: list[str] | None, cmd_id: int | None = None) -> None:
        """Snapshots for order books; current tickers when asked for."""
        engine = self.engine
        if sub.channel == DELTA and markets:
            for t in markets:
                if self.hub.skip_snapshots and cmd_id is None:  # fault: a snapshot never sent
                    self.hub.skip_snapshots -= 1
                    continue
                body = frames.snapshot_msg(engine.state(t), sub.yes_scale)
                sub.client.push(frames.snapshot_frame(sub.sid, sub.next_seq() or 0, body, cmd_id))
        elif sub.channel == TICKER and sub.send_initial_snapshot:
            for t in markets if markets is not None else list(engine.states):
                st = engine.state(t)
                msg = frames.ticker_msg(t, st.market.market_id, engine.ticker_values(t), engine.ts_ms)
                sub.client.push(frames.data_frame(TICKER, sub.sid, None, frames.encode(msg)))

    def _unsubscribe(self, client: Client, cmd_id: int | None, params: dict[str, Any]) -> None:
        sids = params.get("sids")
        if sids is None or sids == []:
            raise CommandError(4)
        if not isinstance(sids, list) or not all(_is_int(s) for s in sids):
            raise CommandError(1)
        for sid in dict.fromkeys(sids):
            sub = client.subs.get(sid)
            if sub is None:
                client.push(frames.error(7, cmd_id=cmd_id))
                continue
            seq = sub.next_seq()
            self.hub.remove(sub)
            client.push(frames.unsubscribed(cmd_id, sid, seq))

    def _update_subscription(self, client: Client, cmd_id: int | None, params: dict[str, Any]) -> None:
        sid = params.get("sid")
        sids = params.get("sids")
        if sid is not None and not _is_int(sid):
            raise CommandError(1)
        if sids is not None:
            if not isinstance(sids, list) or not all(_is_int(s) for s in sids):
                raise CommandError(1)
            if len(sids) != 1:
                raise CommandError(12)
            if sid is not None and sid != sids[0]:
                raise CommandError(11)
            sid = sids[0]
        if sid is None:
            raise CommandError(12)
        sub = client.subs.get(sid)
        if sub is None:
            raise CommandError(7)
        self._rate(sub)
        try:
            markets = self._markets(params)
            if "skip_ticker_ack" in params:
                sub.skip_ticker_ack = _flag(params, "skip_ticker_ack")
            action = params.get("action")
            if action is None:
                raise CommandError(15)
            if not isinstance(action, str):
                raise CommandError(1)
            if action not in ACTIONS:
                raise CommandError(13)
            if action == "get_snapshot":
                if sub.channel != DELTA:
                    raise CommandError(13)
            elif sub.markets is None:
                raise CommandError(13)  # an every-market subscription has no list to edit
            if not markets:
                raise CommandError(14)
            self._known(markets)
        except CommandError as exc:
            if isinstance(exc, SidError):
                raise
            err = SidError(sub, exc.code)
            err.tickers = exc.tickers
            raise err from None
        if action == "get_snapshot":
            assert sub.markets is not None
            if any(t not in sub.markets for t in markets):
                raise SidError(sub, 11)
            self._initial(sub, markets, cmd_id)
            return
        assert sub.markets is not None
        if action == "add_markets":
            if len(set(sub.markets) | set(markets)) > self.market_cap:
                raise SidError(sub, 26)
            new = self.hub.add_markets(sub, markets)
            self._ok(client, cmd_id, sub)
            self._initial(sub, new)
        else:
            self.hub.delete_markets(sub, markets)
            self._ok(client, cmd_id, sub)

    @staticmethod
    def _ok(client: Client, cmd_id: int | None, sub: ServerSubscription) -> None:
        tickers = None if sub.skip_ticker_ack or sub.markets is None else list(sub.markets)
        client.push(frames.ok_tickers(cmd_id, sub.sid, sub.next_seq(), tickers))

    def _list_subscriptions(self, client: Client, cmd_id: int | None, params: dict[str, Any]) -> None:
        del params
        client.push(frames.ok_list(cmd_id, [(s.channel, s.sid) for s in client.subs.values()]))
