"""Alert rules and their evaluation: pure code over the Store, shared by the dashboard and
``kalshi-tui alerts``.

A rule is a condition on one market (or on the connection) plus how it re-arms. The
``Evaluator`` is handed each refresh tick's ``Changes`` (the ones the UI took from the store)
and the clock, and returns the alerts that fired on that tick. No I/O, no Textual, no clock
of its own.

How conditions are read:

* bid / ask / mid / spread read only a synced book. While a book is out of sync nothing is
  observed; the first synced look after it is compared with the last one before, so a
  condition that became true meanwhile fires once (labelled "while disconnected"), and a
  condition that had already fired and is still true after the rebuild does not fire again.
* last and trade size come from trades, each in arrival order, so a crossing inside one tick
  is seen. Volume over a window adds up trade counts seen in the last ``window`` seconds.
* "crosses above P" fires when the value goes from at or below P to above P ("below" the
  mirror); a rule starts armed only if its first look finds the condition false, so a rule made
  while already past its price waits for the price to come back first.
* ``repeat = false`` (the default) fires once per session. ``repeat = true`` fires again after
  re-arming: the value has to come back past the threshold by ``hysteresis`` (same unit as the
  threshold), and ``cooldown`` seconds must have passed since the rule last fired.

Units are the project's integers: prices 1/10,000 $, sizes 1/100 contract.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kalshi_tui.numbers import (
    CENT,
    ONE_DOLLAR,
    SIZE_SCALE,
    format_cents,
    format_contracts,
    format_price,
    format_size,
    parse_price,
    parse_size,
)

if TYPE_CHECKING:  # config reads rules: it need not load the store and the wire format
    from kalshi_tui.protocol import messages as m
    from kalshi_tui.store import Changes, Store

# -- rules ------------------------------------------------------------------------------------

PRICE_FIELDS = ("last", "bid", "ask", "mid")
CROSSINGS = tuple(f"{f}_{d}" for f in PRICE_FIELDS for d in ("above", "below"))
SPREAD = "spread_at_least"
VOLUME = "volume_at_least"
TRADE = "trade_at_least"
LIFECYCLE = "lifecycle"
POSITION = "position_changed"
DISCONNECTED = "disconnected"
KINDS = (*CROSSINGS, SPREAD, VOLUME, TRADE, LIFECYCLE, POSITION, DISCONNECTED)
BOOK_KINDS = frozenset(k for k in KINDS if k.split("_")[0] in ("bid", "ask", "mid")) | {SPREAD}

#: lifecycle event name in a rule -> the store's market status it means
LIFECYCLE_STATUS = {
    "closed": "closed",
    "determined": "determined",
    "settled": "finalized",
    "paused": "inactive",
}
WHILE_DISCONNECTED = "while disconnected"
WHILE_RESYNCING = "while resyncing"

# which settings each kind needs (besides market, repeat, hysteresis, cooldown)
_NEEDS: dict[str, tuple[str, ...]] = {
    **{k: ("price",) for k in CROSSINGS},
    SPREAD: ("price",),
    VOLUME: ("contracts", "window"),
    TRADE: ("contracts",),
    LIFECYCLE: ("event",),
    POSITION: (),
    DISCONNECTED: ("seconds",),
}
RULE_KEYS = (
    "market",
    "when",
    "price",
    "contracts",
    "window",
    "event",
    "seconds",
    "repeat",
    "hysteresis",
    "cooldown",
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert rule, as the profile holds it."""

    when: str
    market: str | None = None  # None only for "disconnected"
    price: int | None = None  # crossings and spread: 1/10,000 $
    contracts: int | None = None  # volume and trade size: 1/100 contract
    window: int | None = None  # volume: seconds
    event: str | None = None  # lifecycle: closed | determined | settled | paused
    seconds: int | None = None  # disconnected: seconds
    repeat: bool = False
    hysteresis: int = 0  # price or size units, as the threshold
    cooldown: int = 0  # seconds

    @property
    def is_book(self) -> bool:
        return self.when in BOOK_KINDS

    def describe(self) -> str:
        """The rule for people: "KX-A bid crosses above 56¢"."""
        w = self.when
        if w in CROSSINGS:
            what, direction = w.split("_")
            text = f"{what} crosses {direction} {format_cents(self.price or 0)}"
        elif w == SPREAD:
            text = f"spread at least {format_cents(self.price or 0)}"
        elif w == VOLUME:
            text = f"volume at least {format_contracts(self.contracts or 0)} in {self.window}s"
        elif w == TRADE:
            text = f"a trade of at least {format_contracts(self.contracts or 0)}"
        elif w == LIFECYCLE:
            text = f"market {self.event}"
        elif w == POSITION:
            text = "position changed"
        else:
            text = f"connection down over {self.seconds}s"
        if self.repeat:
            extra = []
            if self.hysteresis:
                unit = format_cents if self.when in CROSSINGS or self.when == SPREAD else format_contracts
                extra.append(f"re-arm ±{unit(self.hysteresis)}")
            if self.cooldown:
                extra.append(f"cool-down {self.cooldown}s")
            text += " (repeats" + (", " + ", ".join(extra) if extra else "") + ")"
        return f"{self.market} {text}" if self.market else text


class RuleError(ValueError):
    """A bad rule: ``setting`` (dotted, under the rule), ``problem`` and ``fix`` sentences."""

    def __init__(self, setting: str, problem: str, fix: str) -> None:
        super().__init__(f"{problem}: {fix}")
        self.setting = setting
        self.problem = problem
        self.fix = fix


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, int | float):
        return repr(value)
    return f"(a {type(value).__name__})"


def parse_rule(table: Mapping[str, Any], where: str) -> Rule:
    """A rule from a TOML table (or the alerts view's text form). ``where`` names the rule,
    e.g. ``profiles.main.alerts[2]``; a bad rule raises RuleError with one sentence."""
    if not isinstance(table, Mapping):
        raise RuleError(where, f"{where} is not a table", "write each rule as a [[...alerts]] table")
    for key in table:
        if key not in RULE_KEYS:
            raise RuleError(
                f"{where}.{key}",
                f"{where}.{key} is not a known alert setting",
                f"remove it or use one of {', '.join(RULE_KEYS)}",
            )
    when = table.get("when")
    if not isinstance(when, str) or when not in KINDS:
        raise RuleError(
            f"{where}.when",
            f"{where}.when = {_show(when)} is not a condition"
            if when is not None
            else f"{where}.when is missing",
            f"use one of {', '.join(KINDS)}",
        )
    for key in _NEEDS[when]:
        if table.get(key) is None:
            raise RuleError(
                f"{where}.{key}", f"{where}.{key} is missing", f"{when} needs {key}, e.g. {_EXAMPLE[key]}"
            )
    market = table.get("market")
    if when == DISCONNECTED:
        if market is not None:
            raise RuleError(
                f"{where}.market",
                f"{where}.market is set on a disconnected rule",
                "remove it: the rule is about the connection",
            )
    else:
        if not isinstance(market, str) or not market.strip() or any(c.isspace() or c == "," for c in market):
            raise RuleError(
                f"{where}.market",
                f"{where}.market is missing"
                if market is None
                else f"{where}.market = {_show(market)} is not a ticker",
                'name one market, e.g. market = "KXBTC-25DEC31-B100"',
            )
        market = market.upper()
    extra = [
        k
        for k in ("price", "contracts", "window", "event", "seconds")
        if k in table and k not in _NEEDS[when]
    ]
    if extra:
        key = extra[0]
        raise RuleError(f"{where}.{key}", f"{where}.{key} does not apply to {when}", "remove it")

    price = _price(table, "price", where, when == SPREAD) if "price" in _NEEDS[when] else None
    contracts = _contracts(table, "contracts", where) if "contracts" in _NEEDS[when] else None
    window = _whole(table, "window", where, low=1) if when == VOLUME else None
    seconds = _whole(table, "seconds", where, low=1) if when == DISCONNECTED else None
    event = None
    if when == LIFECYCLE:
        event = table["event"]
        if event not in LIFECYCLE_STATUS:
            raise RuleError(
                f"{where}.event",
                f"{where}.event = {_show(event)} is not a lifecycle event",
                f"use one of {', '.join(LIFECYCLE_STATUS)}",
            )
    repeat = table.get("repeat", False)
    if not isinstance(repeat, bool):
        raise RuleError(
            f"{where}.repeat",
            f"{where}.repeat = {_show(repeat)} is not true or false",
            "write repeat = true or repeat = false",
        )
    hysteresis = 0
    if table.get("hysteresis") is not None:
        if when in CROSSINGS or when == SPREAD:
            hysteresis = _price(table, "hysteresis", where, True, low=0)
        elif when == VOLUME:
            hysteresis = _contracts(table, "hysteresis", where, low=0)
        else:
            raise RuleError(
                f"{where}.hysteresis",
                f"{where}.hysteresis does not apply to {when}",
                "remove it (use cooldown)",
            )
    cooldown = _whole(table, "cooldown", where, low=0) if table.get("cooldown") is not None else 0
    if not repeat and (hysteresis or cooldown):
        key = "hysteresis" if hysteresis else "cooldown"
        raise RuleError(
            f"{where}.{key}",
            f"{where}.{key} is set on a rule that fires once",
            "add repeat = true or remove it",
        )
    return Rule(when, market, price, contracts, window, event, seconds, repeat, hysteresis, cooldown)


_EXAMPLE = {"price": '"0.55"', "contracts": "100", "window": "60", "event": '"closed"', "seconds": "30"}


def _price(table: Mapping[str, Any], key: str, where: str, spread: bool, low: int = 1) -> int:
    value = table[key]
    fix = f'write dollars, e.g. {key} = "0.55" (4 decimals at most)'
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RuleError(f"{where}.{key}", f"{where}.{key} = {_show(value)} is not a price", fix)
    try:
        price = parse_price(value)
    except ValueError:
        raise RuleError(f"{where}.{key}", f"{where}.{key} = {_show(value)} is not a price", fix) from None
    high = ONE_DOLLAR if spread else ONE_DOLLAR - 1
    if not low <= price <= high:
        raise RuleError(
            f"{where}.{key}",
            f"{where}.{key} = {_show(value)} is out of range",
            "use a price from $0.0001 to $0.9999",
        )
    return price


def _contracts(table: Mapping[str, Any], key: str, where: str, low: int = 1) -> int:
    value = table[key]
    fix = f"write contracts, e.g. {key} = 100 (2 decimals at most)"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RuleError(f"{where}.{key}", f"{where}.{key} = {_show(value)} is not a number of contracts", fix)
    try:
        size = parse_size(value)
    except ValueError:
        raise RuleError(
            f"{where}.{key}", f"{where}.{key} = {_show(value)} is not a number of contracts", fix
        ) from None
    if size < low:
        raise RuleError(
            f"{where}.{key}",
            f"{where}.{key} = {_show(value)} is out of range",
            "use a positive number of contracts",
        )
    return size


def _whole(table: Mapping[str, Any], key: str, where: str, low: int) -> int:
    value = table[key]
    if type(value) is not int or value < low:
        raise RuleError(
            f"{where}.{key}",
            f"{where}.{key} = {_show(value)} is not a whole number of seconds{' above 0' if low else ''}",
            f"write e.g. {key} = {_EXAMPLE.get(key, '60')}",
        )
    return value


def _dollars(price: int) -> str:
    """A price as the config writes it: "0.55", "0.555" (at least 2 decimals)."""
    text = format_price(price)
    return text[:-2] + text[-2:].rstrip("0") if text.endswith("0") else text


def _size_value(size: int) -> int | str:
    return size // SIZE_SCALE if size % SIZE_SCALE == 0 else format_size(size)


def rule_to_toml(rule: Rule) -> dict[str, Any]:
    """The rule as a TOML table (what ``parse_rule`` reads back as the same rule)."""
    out: dict[str, Any] = {}
    if rule.market is not None:
        out["market"] = rule.market
    out["when"] = rule.when
    if rule.price is not None:
        out["price"] = _dollars(rule.price)
    if rule.contracts is not None:
        out["contracts"] = _size_value(rule.contracts)
    for key in ("window", "event", "seconds"):
        value = getattr(rule, key)
        if value is not None:
            out[key] = value
    if rule.repeat:
        out["repeat"] = True
        if rule.hysteresis:
            out["hysteresis"] = (
                _dollars(rule.hysteresis)
                if rule.when in CROSSINGS or rule.when == SPREAD
                else _size_value(rule.hysteresis)
            )
        if rule.cooldown:
            out["cooldown"] = rule.cooldown
    return out


def rule_text(rule: Rule) -> str:
    """The one-line form the alerts view edits: ``key=value`` words."""
    return " ".join(
        f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in rule_to_toml(rule).items()
    )


def parse_rule_text(text: str) -> Rule:
    """Read the alerts view's one-line form; a bad one raises RuleError (one sentence)."""
    table: dict[str, Any] = {}
    for word in text.split():
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise RuleError(word, f"{word!r} is not key=value", "write e.g. when=bid_above price=0.55")
        if value in ("true", "false"):
            table[key] = value == "true"
        elif key in ("window", "seconds", "cooldown"):
            try:
                table[key] = int(value)
            except ValueError:
                table[key] = value
        else:
            table[key] = value
    return parse_rule(table, "the rule")


def new_rule_for(store: Store, ticker: str) -> Rule:
    """A starting rule on a market, prefilled at its current price: last, else mid, else 50¢."""
    state = store.markets.get(ticker)
    price = None
    when = "last_above"
    if state is not None:
        price = state.last_price
        if price is None and state.book.synced:
            price, when = state.book.mid, "mid_above"
    if price is None or not 0 < price < ONE_DOLLAR:
        price = 50 * CENT
    return Rule(when, ticker, price=price)


# -- fired alerts -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    """One firing of a rule."""

    rule: Rule
    message: str  # for people: "KX-A bid crossed above 56¢: 57¢"
    tick: int  # the evaluator's tick it fired on
    at: float  # wall-clock seconds (epoch)
    value: str | None = None  # the value that fired it, exchange string form
    note: str | None = None  # WHILE_DISCONNECTED / WHILE_RESYNCING, or None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for ``kalshi-tui alerts`` and the user's command (no secrets in it)."""
        return {
            "time": dt.datetime.fromtimestamp(self.at, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "market": self.rule.market,
            "when": self.rule.when,
            "rule": self.rule.describe(),
            "message": self.message,
            "value": self.value,
            "while_disconnected": self.note == WHILE_DISCONNECTED,
            "note": self.note,
            "settings": rule_to_toml(self.rule),
        }

    @property
    def title(self) -> str:
        return f"Alert: {self.rule.market}" if self.rule.market else "Alert: connection"


# -- evaluation -------------------------------------------------------------------------------


@dataclass(slots=True)
class _RuleState:
    armed: bool | None = None  # None: not looked yet
    spent: bool = False  # a once-rule that fired
    last_fired: float | None = None
    epoch: int = 0  # the evaluator's disconnect epoch at the last look
    resynced: bool = False  # its book was seen out of sync since the last look
    baseline: Any = None  # position / status rules: the last value seen


@dataclass(slots=True)
class _Volume:
    seen: deque[tuple[float, int]] = field(default_factory=deque)  # (now, count)
    total: int = 0


class Evaluator:
    """Evaluates rules over a Store, one refresh tick at a time.

    ``evaluate(changes, now, wall)`` takes the Changes the reader took this tick (the
    evaluator never calls ``take_changes`` itself), ``now`` monotonic seconds and ``wall``
    epoch seconds, and returns the alerts of this tick.
    """

    def __init__(self, store: Store, rules: Iterable[Rule] = ()) -> None:
        from kalshi_tui.store import LIVE

        self._live = LIVE
        self.store = store
        self.rules: list[Rule] = []
        self._states: dict[int, _RuleState] = {}  # by position in self.rules
        self.ticks = 0
        self._epoch = 0
        self._was_live = store.metrics.state == LIVE
        self._reconnects = store.metrics.reconnects
        self._down_since: float | None = None
        self._trade_seen: m.Trade | None = store.trades[-1] if store.trades else None
        self._volumes: dict[str, _Volume] = {}
        self._now = 0.0
        self.set_rules(rules)

    def set_rules(self, rules: Iterable[Rule]) -> None:
        """Replace the rules; a rule kept (same settings) keeps its state, a new one takes its
        first look now (so it never fires on what was already true)."""
        old = {}
        for rule, state in zip(self.rules, (self._states[i] for i in range(len(self.rules))), strict=True):
            old.setdefault(rule, []).append(state)
        self.rules = list(rules)
        self._states = {}
        for i, rule in enumerate(self.rules):
            kept = old.get(rule)
            if kept:
                self._states[i] = kept.pop(0)
            else:
                state = self._states[i] = _RuleState(epoch=self._epoch)
                self._first_look(rule, state)

    def _first_look(self, rule: Rule, state: _RuleState) -> None:
        w = rule.when
        market = self.store.markets.get(rule.market or "")
        if w in CROSSINGS or w in (SPREAD, VOLUME):
            value = self._value(rule)
            if value is not None:
                state.armed = not _holds(rule, value) if (w in CROSSINGS) else True
        elif w == LIFECYCLE:
            state.baseline = market.status if market else None
            state.armed = True
        elif w == POSITION:
            state.baseline = _position(self.store, rule.market)
            state.armed = True
        else:
            state.armed = True

    # -- reading values ------------------------------------------------------------------------

    def _value(self, rule: Rule) -> int | None:
        """The rule's current value from the store, None when it can't be read honestly."""
        w = rule.when
        if w == VOLUME:
            vol = self._volumes.get(rule.market or "")
            return self._window_total(vol, rule.window or 0) if vol else 0
        market = self.store.markets.get(rule.market or "")
        if market is None:
            return None
        if w.startswith("last_"):
            return market.last_price
        book = market.book
        if not book.synced:
            return None
        if w == SPREAD:
            return book.spread
        if w.startswith("bid_"):
            q = book.yes_bid
        elif w.startswith("ask_"):
            q = book.yes_ask
        else:
            return book.mid
        return None if q is None else q.price

    def _window_total(self, vol: _Volume, window: int) -> int:
        return sum(c for t, c in vol.seen if self._now - t < window)

    # -- the tick ------------------------------------------------------------------------------

    def evaluate(self, changes: Changes, now: float, wall: float) -> list[Alert]:
        self.ticks += 1
        self._now = now
        fired: list[Alert] = []
        self._watch_connection(now)
        trades = self._new_trades()  # by identity in the ring: cheap when nothing is new
        if trades:
            self._count_volume(trades, now)
        touched = changes.markets | changes.books
        for i, rule in enumerate(self.rules):
            state = self._states[i]
            if state.spent:
                continue
            w = rule.when
            if w in BOOK_KINDS:
                if rule.market in touched:
                    self._look_book(rule, state, fired, wall)
            elif w.startswith("last_"):
                for tr in trades:
                    if tr.market_ticker == rule.market:
                        self._look(rule, state, tr.yes_price, fired, wall, now)
                        if state.spent:
                            break
            elif w == TRADE:
                for tr in trades:
                    if tr.market_ticker == rule.market and tr.count >= (rule.contracts or 0):
                        self._event(
                            rule,
                            state,
                            _trade_message(tr),
                            format_size(tr.count),
                            fired,
                            wall,
                            now,
                            live=True,
                        )
                        if state.spent:
                            break
            elif w == VOLUME:
                self._look(rule, state, self._value(rule), fired, wall, now)
            elif w == LIFECYCLE:
                if rule.market in touched:
                    self._look_lifecycle(rule, state, fired, wall, now)
            elif w == POSITION:
                if changes.fills:
                    self._look_position(rule, state, fired, wall, now)
            elif w == DISCONNECTED:
                self._look_connection(rule, state, fired, wall, now)
        return fired

    def _watch_connection(self, now: float) -> None:
        mt = self.store.metrics
        live = mt.state == self._live
        # A reconnect between two ticks (counted by the stream) is a disconnect even if the
        # state is live again by the time we look.
        if (self._was_live and not live) or mt.reconnects != self._reconnects:
            self._epoch += 1
        self._reconnects = mt.reconnects
        self._was_live = live
        if live:
            self._down_since = None
        elif self._down_since is None:
            self._down_since = now

    def _new_trades(self) -> list[m.Trade]:
        ring = self.store.trades
        if not ring or ring[-1] is self._trade_seen:
            return []
        fresh: list[m.Trade] = []
        for tr in reversed(ring):
            if tr is self._trade_seen:
                break
            fresh.append(tr)
        self._trade_seen = ring[-1]
        fresh.reverse()
        return fresh

    def _count_volume(self, trades: list[m.Trade], now: float) -> None:
        wanted = {r.market: r.window or 0 for r in self.rules if r.when == VOLUME}
        if not wanted:
            return
        for tr in trades:
            if tr.market_ticker in wanted:
                self._volumes.setdefault(tr.market_ticker, _Volume()).seen.append((now, tr.count))
        longest = max(r.window or 0 for r in self.rules if r.when == VOLUME)
        for vol in self._volumes.values():
            while vol.seen and now - vol.seen[0][0] >= longest:
                vol.seen.popleft()

    # -- kinds -----------------------------------------------------------------------------------

    def _look_book(self, rule: Rule, state: _RuleState, fired: list[Alert], wall: float) -> None:
        market = self.store.markets.get(rule.market or "")
        if market is None:
            return
        if not market.book.synced:
            state.resynced = True  # nothing honest to read: keep the last synced look
            return
        self._look(rule, state, self._value(rule), fired, wall, self._now)

    def _look(
        self, rule: Rule, state: _RuleState, value: int | None, fired: list[Alert], wall: float, now: float
    ) -> None:
        if value is None:
            return
        holds = _holds(rule, value)
        note = self._note(state)
        state.epoch = self._epoch
        state.resynced = False
        if state.armed is None:  # the first look: a crossing needs to start on the other side
            state.armed = not holds if rule.when in CROSSINGS else True
            if rule.when in CROSSINGS:
                return
        if not state.armed:
            # Never fired (made while already past its price): arms once the value is back on
            # the other side. Fired: arms again only past the hysteresis, and only if it repeats.
            if (not holds and state.last_fired is None) or _rearms(rule, value):
                state.armed = True
            return
        if holds and self._cooled(rule, state, now):
            self._fire(rule, state, _message(rule, value), _value_text(rule, value), note, fired, wall, now)

    def _event(
        self,
        rule: Rule,
        state: _RuleState,
        message: str,
        value: str | None,
        fired: list[Alert],
        wall: float,
        now: float,
        live: bool = False,
    ) -> None:
        # A trade is seen as it happens; a status or position found changed after a reconnect
        # may have changed while we were away.
        note = None if live else self._note(state)
        state.epoch = self._epoch
        if self._cooled(rule, state, now):
            self._fire(rule, state, message, value, note, fired, wall, now)

    def _look_lifecycle(
        self, rule: Rule, state: _RuleState, fired: list[Alert], wall: float, now: float
    ) -> None:
        market = self.store.markets.get(rule.market or "")
        status = market.status if market else None
        before, state.baseline = state.baseline, status
        # A first status (REST's or the first message's) is where we start, not an event.
        if before and status != before and status == LIFECYCLE_STATUS.get(rule.event or ""):
            self._event(rule, state, f"{rule.market} {rule.event}", status, fired, wall, now)
        else:
            state.epoch = self._epoch

    def _look_position(
        self, rule: Rule, state: _RuleState, fired: list[Alert], wall: float, now: float
    ) -> None:
        position = _position(self.store, rule.market)
        before, state.baseline = state.baseline, position
        if position != before:
            self._event(
                rule,
                state,
                f"{rule.market} position {format_contracts(before or 0)} → {format_contracts(position or 0)}",
                format_size(position or 0),
                fired,
                wall,
                now,
            )
        else:
            state.epoch = self._epoch

    def _look_connection(
        self, rule: Rule, state: _RuleState, fired: list[Alert], wall: float, now: float
    ) -> None:
        if self._down_since is None:
            state.armed = True
            return
        down = now - self._down_since
        if state.armed and down > (rule.seconds or 0) and self._cooled(rule, state, now):
            state.armed = False
            message = f"connection down for over {rule.seconds}s ({self.store.metrics.state})"
            self._fire(rule, state, message, None, None, fired, wall, now)

    # -- helpers -------------------------------------------------------------------------------

    def _note(self, state: _RuleState) -> str | None:
        if state.armed is None:
            return None
        if state.epoch != self._epoch:
            return WHILE_DISCONNECTED
        return WHILE_RESYNCING if state.resynced else None

    @staticmethod
    def _cooled(rule: Rule, state: _RuleState, now: float) -> bool:
        return state.last_fired is None or not rule.cooldown or now - state.last_fired >= rule.cooldown

    def _fire(
        self,
        rule: Rule,
        state: _RuleState,
        message: str,
        value: str | None,
        note: str | None,
        fired: list[Alert],
        wall: float,
        now: float,
    ) -> None:
        state.last_fired = now
        state.armed = False
        if not rule.repeat:
            state.spent = True
        if note:
            message = f"{message} ({note})"
        fired.append(Alert(rule, message, self.ticks, wall, value, note))

    def state_of(self, index: int) -> str:
        """ "armed", "waiting" (to re-arm or for a first look), "done" (a once-rule that fired)."""
        st = self._states.get(index)
        if st is None or st.armed is None:
            return "waiting"
        if st.spent:
            return "done"
        return "armed" if st.armed else "fired"


def _holds(rule: Rule, value: int) -> bool:
    w = rule.when
    if w.endswith("_above"):
        return value > (rule.price or 0)
    if w.endswith("_below"):
        return value < (rule.price or 0)
    if w == SPREAD:
        return value >= (rule.price or 0)
    if w == VOLUME:
        return value >= (rule.contracts or 0)
    return False


def _rearms(rule: Rule, value: int) -> bool:
    """Back past the threshold by the hysteresis: the rule may fire again."""
    if not rule.repeat:
        return False
    h = rule.hysteresis
    return not _holds(rule, value - h if rule.when.endswith("_below") else value + h)


def _message(rule: Rule, value: int) -> str:
    w = rule.when
    if w in CROSSINGS:
        what, direction = w.split("_")
        return (
            f"{rule.market} {what} crossed {direction} {format_cents(rule.price or 0)}: {format_cents(value)}"
        )
    if w == SPREAD:
        return f"{rule.market} spread {format_cents(value)} (at least {format_cents(rule.price or 0)})"
    least = format_contracts(rule.contracts or 0)
    return f"{rule.market} volume {format_contracts(value)} in {rule.window}s (at least {least})"


def _trade_message(tr: m.Trade) -> str:
    return f"{tr.market_ticker} traded {format_contracts(tr.count)} at {format_cents(tr.yes_price)}"


def _value_text(rule: Rule, value: int) -> str:
    return format_size(value) if rule.when == VOLUME else format_price(value)


def _position(store: Store, ticker: str | None) -> int:
    p = store.positions.get(ticker or "")
    return p.position if p is not None else 0


def replace_rule(rules: list[Rule], index: int, rule: Rule | None) -> list[Rule]:
    """A copy of ``rules`` with one rule replaced (or removed with ``None``)."""
    out = list(rules)
    if rule is None:
        del out[index]
    else:
        out[index] = rule
    return out


__all__ = [
    "KINDS",
    "LIFECYCLE_STATUS",
    "WHILE_DISCONNECTED",
    "Alert",
    "Evaluator",
    "Rule",
    "RuleError",
    "new_rule_for",
    "parse_rule",
    "parse_rule_text",
    "rule_text",
    "rule_to_toml",
]
