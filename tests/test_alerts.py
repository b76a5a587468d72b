"""Alert rules and their evaluation: pure code over a Store, ticks counted, no clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from kalshi_tui.alerts import (
    KINDS,
    WHILE_DISCONNECTED,
    WHILE_RESYNCING,
    Alert,
    Evaluator,
    Rule,
    RuleError,
    new_rule_for,
    parse_rule,
    parse_rule_text,
    rule_text,
    rule_to_toml,
)
from kalshi_tui.protocol import messages as m
from kalshi_tui.store import LIVE, RECONNECTING, Store

WALL = 1_780_000_000.0


class Bench:
    """A store, an evaluator and a clock; ``tick`` is one refresh tick of the app."""

    def __init__(self, *rules: Rule, state: str = LIVE) -> None:
        self.now = 0.0
        self.store = Store(clock=lambda: self.now)
        self.store.set_state(state)
        self.ev = Evaluator(self.store, rules)

    def book(self, ticker: str, bid: int, ask: int, size: int = 1000) -> None:
        self.store.apply(
            m.OrderbookSnapshot(market_ticker=ticker, yes=[(bid, size)], no=[(10_000 - ask, size)])
        )

    def bid(self, ticker: str, price: int, delta: int = 500) -> None:
        self.store.apply(m.OrderbookDelta(market_ticker=ticker, side="yes", price=price, delta=delta))

    def trade(self, ticker: str, price: int, count: int = 100) -> None:
        self.store.apply(
            m.Trade(
                trade_id=f"t{len(self.store.trades)}",
                market_ticker=ticker,
                yes_price=price,
                no_price=10_000 - price,
                count=count,
                taker_side="yes",
            )
        )

    def tick(self, advance: float = 0.1) -> list[Alert]:
        self.now += advance
        return self.ev.evaluate(self.store.take_changes(), self.now, WALL + self.now)

    def rules(self, *rules: Rule) -> None:
        self.ev.set_rules(rules)


def above(field: str, price: int, **kw: object) -> Rule:
    return Rule(f"{field}_above", "A", price=price, **kw)  # type: ignore[arg-type]


# -- book crossings -----------------------------------------------------------------------------


def test_bid_crossing_fires_once_on_the_first_tick_after_the_frame() -> None:
    b = Bench()
    b.book("A", 4000, 6000)
    b.rules(above("bid", 5000))
    assert b.tick() == []
    b.bid("A", 5100)
    ticks_before = b.ev.ticks
    fired = b.tick()
    assert [a.message for a in fired] == ["A bid crossed above 50¢: 51¢"]
    assert fired[0].tick == ticks_before + 1 and fired[0].value == "0.5100" and fired[0].note is None
    b.bid("A", 5200)
    b.bid("A", 5100, -500)
    b.bid("A", 5100, -500)  # back to 40¢: once means once
    b.tick()
    b.bid("A", 5300)
    assert b.tick() == []


@pytest.mark.parametrize(
    ("when", "price", "moves", "value"),
    [
        # book: bid 40, ask 45. Each move is (side, price, delta) applied to the yes/no bids.
        ("ask_below", 4300, [("no", 5800, 100)], "0.4200"),  # ask = 1 - best no bid
        ("ask_above", 4600, [("no", 5500, -1000)], None),  # ask side emptied: nothing to read
        ("mid_above", 4300, [("yes", 4300, 100)], "0.4400"),  # (43+45)/2
        ("bid_below", 3900, [("yes", 4000, -1000), ("yes", 3800, 100)], "0.3800"),
        ("spread_at_least", 700, [("yes", 4000, -1000), ("yes", 3800, 100)], "0.0700"),
    ],
)
def test_each_book_condition(
    when: str, price: int, moves: list[tuple[str, int, int]], value: str | None
) -> None:
    b = Bench()
    b.book("A", 4000, 4500)
    b.rules(Rule(when, "A", price=price))
    assert b.tick() == []
    for side, p, delta in moves:
        b.store.apply(m.OrderbookDelta(market_ticker="A", side=side, price=p, delta=delta))
    fired = b.tick()
    assert [a.value for a in fired] == ([value] if value else [])


def test_a_rule_made_past_its_price_waits_for_the_price_to_come_back() -> None:
    b = Bench()
    b.book("A", 6000, 6500)
    b.rules(above("bid", 5000))
    b.bid("A", 6100)
    assert b.tick() == []
    b.book("A", 4000, 6000)
    assert b.tick() == []
    b.bid("A", 5500)
    assert len(b.tick()) == 1


def test_spread_is_a_level_it_fires_when_already_true_at_the_first_look() -> None:
    b = Bench()
    b.book("A", 4000, 4500)
    b.rules(Rule("spread_at_least", "A", price=500))
    b.bid("A", 3000)  # a change to the market: the first look after the rule is made
    assert [a.value for a in b.tick()] == ["0.0500"]


def test_hysteresis_re_arms_only_past_the_band() -> None:
    b = Bench()
    b.book("A", 4000, 6000)
    b.rules(above("bid", 5000, repeat=True, hysteresis=200))
    fired = []
    for price in (5500, 4900, 5500, 4800, 5100):
        b.store.apply(m.OrderbookSnapshot(market_ticker="A", yes=[(price, 100)], no=[(3900, 100)]))
        fired.append(len(b.tick()))
    # 55 fires; 49 is inside the 2¢ band (no re-arm) so 55 again is quiet; 48 re-arms; 51 fires.
    assert fired == [1, 0, 0, 0, 1]


def test_cooldown_holds_a_repeat_rule_back_and_it_fires_after() -> None:
    b = Bench()
    b.book("A", 4000, 6000)
    b.rules(above("bid", 5000, repeat=True, cooldown=10))
    seen = []
    for advance, price in ((1, 5500), (1, 4500), (1, 5500), (10, 5600)):
        b.store.apply(m.OrderbookSnapshot(market_ticker="A", yes=[(price, 100)], no=[(3900, 100)]))
        seen.append(len(b.tick(advance)))
    assert seen == [1, 0, 0, 1]


def test_an_unsynced_book_is_never_read() -> None:
    b = Bench()
    b.store.market("A")
    b.rules(above("bid", 5000))
    b.bid("A", 6000)  # a delta before any snapshot: the book is not in sync
    assert b.tick() == []
    b.book("A", 4000, 4500)
    b.tick()
    b.store.mark_stale(["A"], "sequence gap")
    assert b.tick() == []
    assert b.ev.state_of(0) == "armed"


# -- disconnects and resyncs --------------------------------------------------------------------


def _drop_and_rebuild(b: Bench, bid: int, same_tick: bool = False) -> list[Alert]:
    b.store.set_state(RECONNECTING)
    b.store.metrics.reconnects += 1
    b.store.drop_books("reconnecting")
    out = [] if same_tick else b.tick()
    b.book("A", bid, bid + 500)
    b.store.set_state(LIVE)
    return out + b.tick()


def test_a_crossing_while_disconnected_fires_once_after_resync_labelled() -> None:
    b = Bench()
    b.book("A", 4000, 4500)
    b.rules(above("bid", 5000))
    b.tick()
    fired = _drop_and_rebuild(b, 5500)
    assert [a.note for a in fired] == [WHILE_DISCONNECTED]
    assert fired[0].message.endswith("(while disconnected)")
    assert fired[0].to_json()["while_disconnected"] is True
    b.bid("A", 5600)
    assert b.tick() == []


def test_the_same_when_the_drop_and_the_snapshot_land_in_one_tick() -> None:
    b = Bench()
    b.book("A", 4000, 4500)
    b.rules(above("bid", 5000))
    b.tick()
    assert [a.note for a in _drop_and_rebuild(b, 5500, same_tick=True)] == [WHILE_DISCONNECTED]


@pytest.mark.parametrize("repeat", [False, True])
def test_a_rebuilt_book_never_fires_again(repeat: bool) -> None:
    b = Bench()
    b.book("A", 4000, 6000)
    b.rules(above("bid", 5000, repeat=repeat))
    b.bid("A", 5500)
    assert len(b.tick()) == 1
    for _ in range(3):
        assert _drop_and_rebuild(b, 5500) == []


def test_a_sequence_gap_resync_is_labelled_as_such() -> None:
    b = Bench()
    b.book("A", 4000, 4500)
    b.rules(above("bid", 5000))
    b.tick()
    b.store.mark_stale(["A"], "sequence gap")
    b.tick()
    b.book("A", 5500, 6000)
    assert [a.note for a in b.tick()] == [WHILE_RESYNCING]


# -- trades ---------------------------------------------------------------------------------------


def test_last_crossings_come_from_each_trade_in_order() -> None:
    b = Bench()
    b.trade("A", 4000)
    b.rules(above("last", 5000), Rule("last_below", "A", price=4500))
    b.tick()
    for price in (4800, 6000, 4900):  # up through 50¢ and back within one tick
        b.trade("A", price)
    assert [a.message for a in b.tick()] == ["A last crossed above 50¢: 60¢"]
    b.store.apply(m.Ticker(market_ticker="A", price=4000))  # a ticker is not a trade
    assert b.tick() == []
    b.trade("A", 4400)
    assert [a.rule.when for a in b.tick()] == ["last_below"]


def test_a_trade_of_at_least_n_contracts() -> None:
    b = Bench(Rule("trade_at_least", "A", contracts=1000, repeat=True))
    b.trade("A", 5000, 999)
    b.trade("B", 5000, 5000)
    b.trade("A", 5100, 1000)
    b.trade("A", 5200, 2500)
    fired = b.tick()
    assert [a.value for a in fired] == ["10.00", "25.00"]
    assert fired[0].message == "A traded 10 at 51¢"


def test_volume_over_a_window_adds_and_forgets_trades() -> None:
    b = Bench(Rule("volume_at_least", "A", contracts=10_000, window=60, repeat=True))
    b.trade("A", 5000, 6000)
    assert b.tick(1) == []
    b.trade("A", 5000, 4000)
    assert [a.value for a in b.tick(29)] == ["100.00"]
    assert b.tick(20) == []  # still 100 in the window: fired, not re-armed
    assert b.tick(20) == []  # the first 60 left the window: re-armed at 40
    b.trade("A", 5000, 6000)
    assert [a.value for a in b.tick(1)] == ["100.00"]


# -- lifecycle, position, connection ------------------------------------------------------------


def test_lifecycle_events() -> None:
    b = Bench()
    b.store.apply(m.Ticker(market_ticker="A", price=5000))
    b.store.market("A").status = "active"
    rules = [Rule("lifecycle", "A", event=e) for e in ("closed", "determined", "settled", "paused")]
    b.rules(*rules)
    got = []
    for event in ("deactivated", "activated", "closed", "determined", "settled"):
        b.store.apply(m.Lifecycle(market_ticker="A", event_type=event))
        got += [a.rule.event for a in b.tick()]
    assert got == ["paused", "closed", "determined", "settled"]


def test_a_first_status_is_where_a_lifecycle_rule_starts() -> None:
    b = Bench(Rule("lifecycle", "A", event="closed"))
    b.store.apply(m.Ticker(market_ticker="A", price=5000))
    b.store.market("A").status = "closed"  # REST said so: not an event we saw
    assert b.tick() == []


def test_position_changed() -> None:
    b = Bench(Rule("position_changed", "A", repeat=True))
    b.store.apply(m.MarketPosition(market_ticker="A", position=500))
    fired = b.tick()
    assert [a.message for a in fired] == ["A position 0 → 5"]
    b.store.apply(m.MarketPosition(market_ticker="A", position=500))
    b.store.apply(m.MarketPosition(market_ticker="B", position=100))
    assert b.tick() == []
    b.store.apply(m.MarketPosition(market_ticker="A", position=0))
    assert [a.value for a in b.tick()] == ["0.00"]


@pytest.mark.parametrize("repeat", [False, True])
def test_connection_down_for_more_than_n_seconds(repeat: bool) -> None:
    b = Bench(Rule("disconnected", seconds=30, repeat=repeat))
    b.store.set_state(RECONNECTING)
    assert b.tick(1) == []  # down since now
    assert b.tick(30) == []  # exactly 30 s is not more than 30
    fired = b.tick(0.5)
    assert [a.title for a in fired] == ["Alert: connection"]
    assert "reconnecting" in fired[0].message
    assert b.tick(100) == []  # still the same outage
    b.store.set_state(LIVE)
    b.tick(1)
    b.store.set_state(RECONNECTING)
    b.tick(1)
    assert len(b.tick(31)) == (1 if repeat else 0)


# -- the evaluator and the reader ----------------------------------------------------------------


def test_evaluating_takes_nothing_from_the_store() -> None:
    b = Bench(above("bid", 5000))
    b.book("A", 4000, 4500)
    changes = b.store.take_changes()
    b.bid("A", 5500)  # still pending for the UI
    b.ev.evaluate(changes, 1.0, WALL)
    assert b.store.take_changes().books == {"A"}


def test_set_rules_keeps_the_state_of_rules_kept() -> None:
    b = Bench()
    b.book("A", 4000, 6000)
    kept = above("bid", 5000)
    b.rules(kept)
    b.bid("A", 5500)
    assert len(b.tick()) == 1
    b.rules(kept, above("ask", 6000))
    assert b.ev.state_of(0) == "done" and b.ev.state_of(1) == "armed"
    b.rules(above("ask", 6000))
    assert b.ev.state_of(0) == "armed"


def test_new_rule_is_prefilled_at_the_current_price() -> None:
    b = Bench()
    assert new_rule_for(b.store, "A") == Rule("last_above", "A", price=5000)
    b.book("A", 4000, 4500)
    assert new_rule_for(b.store, "A") == Rule("mid_above", "A", price=4250)
    b.trade("A", 4300)
    assert new_rule_for(b.store, "A") == Rule("last_above", "A", price=4300)


# -- a property: alerts only when true, and never twice without re-arming -----------------------


@settings(max_examples=200, deadline=None)
@given(
    steps=hs.lists(hs.one_of(hs.integers(100, 9800), hs.just(-1)), max_size=40),
    hysteresis=hs.integers(0, 500),
    repeat=hs.booleans(),
)
def test_bid_alerts_fire_only_on_crossings_and_re_arm_past_the_band(
    steps: list[int], hysteresis: int, repeat: bool
) -> None:
    price = 5000
    b = Bench()
    b.book("A", 100, 9900)
    rule = above("bid", price, repeat=repeat, hysteresis=hysteresis if repeat else 0)
    b.rules(rule)
    rearmed = True  # 1¢ at the first look is below
    fires = 0
    for bid in steps:
        if bid == -1:
            b.store.mark_stale(["A"], "sequence gap")  # seen, and nothing read, until a snapshot
            assert b.tick() == []
            continue
        b.store.apply(m.OrderbookSnapshot(market_ticker="A", yes=[(bid, 100)], no=[(100, 100)]))
        fired = b.tick()
        if fired:
            fires += 1
            assert bid > price and rearmed
            rearmed = False
        elif bid <= price - hysteresis:
            rearmed = rearmed or repeat
        if bid > price and rearmed:
            pytest.fail(f"{bid} was above {price} while armed and nothing fired")
    if not repeat:
        assert fires <= 1


# -- rules in the profile ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    when=hs.sampled_from(KINDS),
    price=hs.integers(1, 9999),
    contracts=hs.integers(1, 10**8),
    seconds=hs.integers(1, 10**5),
    event=hs.sampled_from(["closed", "determined", "settled", "paused"]),
    repeat=hs.booleans(),
    band=hs.integers(0, 500),
    cooldown=hs.integers(0, 3600),
)
def test_rules_round_trip_through_toml_and_text(
    when: str, price: int, contracts: int, seconds: int, event: str, repeat: bool, band: int, cooldown: int
) -> None:
    kw: dict[str, object] = {}
    if when.endswith(("_above", "_below")) or when == "spread_at_least":
        kw["price"] = price
    if when in ("volume_at_least", "trade_at_least"):
        kw["contracts"] = contracts
    if when == "volume_at_least":
        kw["window"] = seconds
    if when == "disconnected":
        kw["seconds"] = seconds
    if when == "lifecycle":
        kw["event"] = event
    if repeat:
        kw["cooldown"] = cooldown
        if when.endswith(("_above", "_below")) or when in ("spread_at_least", "volume_at_least"):
            kw["hysteresis"] = band
    market = None if when == "disconnected" else "KX-A"
    rule = Rule(when, market, repeat=repeat, **kw)  # type: ignore[arg-type]
    assert parse_rule(rule_to_toml(rule), "r") == rule
    assert parse_rule_text(rule_text(rule)) == rule
    assert rule.describe()


def test_prices_are_written_as_people_write_them() -> None:
    table = rule_to_toml(Rule("bid_above", "A", price=5500, repeat=True, hysteresis=150))
    assert table == {
        "market": "A",
        "when": "bid_above",
        "price": "0.55",
        "repeat": True,
        "hysteresis": "0.015",
    }
    assert rule_to_toml(Rule("trade_at_least", "A", contracts=1050))["contracts"] == "10.50"
    assert parse_rule({"market": "a", "when": "bid_above", "price": 0.55}, "r").price == 5500


@pytest.mark.parametrize(
    ("table", "setting", "words"),
    [
        ({"market": "A"}, "r.when", "missing"),
        ({"market": "A", "when": "bid_over", "price": "0.5"}, "r.when", "not a condition"),
        ({"when": "bid_above", "price": "0.5"}, "r.market", "missing"),
        ({"market": "A B", "when": "bid_above", "price": "0.5"}, "r.market", "not a ticker"),
        ({"market": "A", "when": "bid_above"}, "r.price", "missing"),
        ({"market": "A", "when": "bid_above", "price": "1.5"}, "r.price", "out of range"),
        ({"market": "A", "when": "bid_above", "price": "0.12345"}, "r.price", "not a price"),
        ({"market": "A", "when": "bid_above", "price": True}, "r.price", "not a price"),
        ({"market": "A", "when": "bid_above", "price": "0.5", "colour": 1}, "r.colour", "not a known"),
        (
            {"market": "A", "when": "bid_above", "price": "0.5", "contracts": 1},
            "r.contracts",
            "does not apply",
        ),
        ({"market": "A", "when": "trade_at_least", "contracts": 0}, "r.contracts", "out of range"),
        ({"market": "A", "when": "volume_at_least", "contracts": 5}, "r.window", "missing"),
        ({"market": "A", "when": "volume_at_least", "contracts": 5, "window": 1.5}, "r.window", "whole"),
        ({"market": "A", "when": "lifecycle", "event": "exploded"}, "r.event", "not a lifecycle"),
        ({"when": "disconnected", "seconds": 0}, "r.seconds", "whole"),
        ({"market": "A", "when": "disconnected", "seconds": 5}, "r.market", "connection"),
        ({"market": "A", "when": "bid_above", "price": "0.5", "repeat": "yes"}, "r.repeat", "true or false"),
        ({"market": "A", "when": "bid_above", "price": "0.5", "cooldown": 5}, "r.cooldown", "fires once"),
        (
            {"market": "A", "when": "position_changed", "repeat": True, "hysteresis": 1},
            "r.hysteresis",
            "apply",
        ),
    ],
)
def test_a_bad_rule_is_one_sentence_naming_the_setting(table: dict, setting: str, words: str) -> None:
    with pytest.raises(RuleError) as err:
        parse_rule(table, "r")
    assert err.value.setting == setting
    text = str(err.value)
    assert words in text and setting in text and "\n" not in text


def test_the_text_form_refuses_a_word_that_is_not_key_value() -> None:
    with pytest.raises(RuleError, match="not key=value"):
        parse_rule_text("market=A when=bid_above 0.55")


def test_a_once_trade_rule_fires_for_the_first_big_trade_only() -> None:
    b = Bench(Rule("trade_at_least", "A", contracts=1000))
    b.trade("A", 5000, 1000)
    b.trade("A", 5000, 2000)
    assert [a.value for a in b.tick()] == ["10.00"]
    b.trade("A", 5000, 3000)
    assert b.tick() == []


def test_an_event_rule_cools_down() -> None:
    b = Bench(Rule("trade_at_least", "A", contracts=100, repeat=True, cooldown=60))
    fired = []
    for advance in (1, 1, 30, 30):
        b.trade("A", 5000, 100)
        fired.append(len(b.tick(advance)))
    assert fired == [1, 0, 0, 1]


def test_a_position_that_changed_while_disconnected_is_labelled_and_a_trade_is_not() -> None:
    b = Bench(Rule("position_changed", "A", repeat=True), Rule("trade_at_least", "A", contracts=100))
    b.tick()
    b.store.set_state(RECONNECTING)
    b.store.metrics.reconnects += 1
    b.tick()
    b.store.set_state(LIVE)
    b.store.apply(m.MarketPosition(market_ticker="A", position=300))
    b.trade("A", 5000, 100)
    assert sorted((a.rule.when, a.note) for a in b.tick()) == [
        ("position_changed", WHILE_DISCONNECTED),
        ("trade_at_least", None),
    ]
