"""Alerts in the dashboard, driven by keys on the fixture store (Pilot, fixed size)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from bench.waiting import until
from kalshi_tui.alerts import Rule, rule_text
from kalshi_tui.config import Profile
from kalshi_tui.protocol import messages as m
from kalshi_tui.ui.alerts import AlertsScreen, RuleEditor
from kalshi_tui.ui.app import KalshiApp
from kalshi_tui.ui.help import keys_table
from kalshi_tui.ui.keys import binding_ids
from tests import ui_fixtures as fx
from tests.ui_fixtures import utc  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("utc")
SIZE = (100, 30)
FED = "KXFEDDECISION-26DEC-H0"  # the first market of the first group: selected at start
BTC = "KXBTCD-26AUG2717-T112999.99"


def _bid(app: KalshiApp, ticker: str = FED) -> int:
    quote = app.store.markets[ticker].book.yes_bid
    assert quote is not None
    return quote.price


def _app(*rules: Rule, saved: list[Profile] | None = None, **profile: Any) -> KalshiApp:
    return fx.make_app(
        profile=fx.make_profile(alerts=rules, **profile),
        save_profile=saved.append if saved is not None else None,
    )


async def _until_quiet(app: KalshiApp) -> None:
    others = [w for w in app.workers if w.name != "feed"]
    if others:
        await app.workers.wait_for_complete(others)


async def test_an_alert_fires_on_the_first_tick_after_its_frame() -> None:
    store = fx.build_store()
    bid = store.markets[FED].book.yes_bid
    assert bid is not None
    app = fx.make_app(store, profile=fx.make_profile(alerts=(Rule("bid_above", FED, price=bid.price),)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.alert_desk.fired == []
        ticks_at_frame = app.ticks
        app.store.apply(m.OrderbookDelta(market_ticker=FED, side="yes", price=bid.price + 50, delta=100))
        await until(lambda: app.alert_desk.fired, "the alert", pilot=pilot)
        alert = app.alert_desk.fired[0]
        # The evaluator runs inside the app's tick: one count for both.
        assert app.alert_desk.evaluator.ticks == app.ticks
        assert alert.tick == ticks_at_frame + 1
        # App.notify posts a message: the toast lands a moment after the alert is recorded.
        await until(
            lambda: [n.message for n in app._notifications][-1:] == [alert.message], "the toast", pilot=pilot
        )
        assert alert.message.startswith(f"{FED} bid crossed above ")
        assert [e.text for e in app.alert_desk.log] == [alert.message]
        assert app.alert_desk.terminal_writes == 1


async def test_the_new_alert_key_prefills_at_the_current_price_and_saves() -> None:
    saved: list[Profile] = []
    app = _app(saved=saved)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        last = app.store.markets[FED].last_price
        assert last is not None
        await pilot.press("exclamation_mark")
        editor = app.screen
        assert isinstance(editor, RuleEditor)
        text = editor.query_one(Input).value
        assert text.startswith(f"market={FED} when=last_above price=0.")
        await pilot.press("enter")
        assert not isinstance(app.screen, RuleEditor)
        await _until_quiet(app)
    assert app.profile.alerts == (Rule("last_above", FED, price=last),)
    assert saved and saved[-1].alerts == app.profile.alerts
    assert app.alert_desk.rules == [Rule("last_above", FED, price=last)]


async def test_a_bad_rule_is_one_sentence_and_the_editor_stays_open() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("exclamation_mark")
        editor = app.screen
        editor.query_one(Input).value = f"market={FED} when=last_above price=2"
        await pilot.press("enter")
        assert app.screen is editor
        error = str(editor.query_one("#rule-error", Static).render())
        assert "the rule.price = '2' is out of range" in error and "\n" not in error
        await pilot.press("escape")
        assert app.profile.alerts == ()


async def test_the_alerts_view_lists_edits_and_deletes_rules() -> None:
    saved: list[Profile] = []
    rules = (Rule("bid_above", FED, price=9000), Rule("trade_at_least", BTC, contracts=10_000))
    app = _app(*rules, saved=saved)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("A")
        view = app.screen
        assert isinstance(view, AlertsScreen)
        table = view.query_one("#alert-rules", DataTable)
        assert [table.get_row_at(i)[2] for i in range(table.row_count)] == [r.describe() for r in rules]
        assert [table.get_row_at(i)[1] for i in range(table.row_count)] == ["armed", "armed"]
        await pilot.press("down", "e")
        editor = app.screen
        assert isinstance(editor, RuleEditor)
        assert editor.query_one(Input).value == f"market={BTC} when=trade_at_least contracts=100"
        editor.query_one(Input).value = f"market={BTC} when=trade_at_least contracts=250 repeat=true"
        await pilot.press("enter")
        assert app.screen is view
        edited = Rule("trade_at_least", BTC, contracts=25_000, repeat=True)
        assert app.profile.alerts == (rules[0], edited)
        editor_again = "market=NOT-WATCHED when=trade_at_least contracts=250 repeat=true"
        await pilot.press("e")
        app.screen.query_one(Input).value = editor_again
        await pilot.press("enter")
        assert table.get_row_at(1)[1] == "unwatched"
        await pilot.press("e")
        app.screen.query_one(Input).value = rule_text(edited)
        await pilot.press("enter")
        await pilot.press("up", "d")
        assert app.profile.alerts == (edited,)
        assert table.row_count == 1 and table.get_row_at(0)[2] == edited.describe()
        await pilot.press("escape")
        assert not isinstance(app.screen, AlertsScreen)
        await _until_quiet(app)
    assert saved[-1].alerts == (edited,)


async def test_the_view_shows_fired_alerts_and_a_failing_command() -> None:
    store = fx.build_store()
    bid = store.markets[FED].book.yes_bid
    assert bid is not None
    profile = fx.make_profile(alerts=(Rule("bid_above", FED, price=bid.price),), alert_command="false")
    app = fx.make_app(store, profile=profile)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("A")
        app.store.apply(m.OrderbookDelta(market_ticker=FED, side="yes", price=bid.price + 50, delta=100))
        desk = app.alert_desk
        await until(lambda: len(desk.log) == 2, "the alert and the command's failure", pilot=pilot)
        log = app.screen.query_one("#alert-log", DataTable)
        await until(lambda: log.row_count == 2, "both in the view", pilot=pilot)
        assert log.get_row_at(0)[1] == "! alert command 'false' exited with 1"
        assert log.get_row_at(1)[1] == desk.fired[0].message
        rules = app.screen.query_one("#alert-rules", DataTable)
        assert rules.get_row_at(0)[1] == "done"
        await until(
            lambda: (
                "Alert command: alert command 'false' exited with 1"
                in [f"{n.title}: {n.message}" for n in app._notifications]
            ),
            "the command's failure toasted",
            pilot=pilot,
        )


async def test_alert_keys_are_listed_under_question_mark_and_remappable() -> None:
    ids = binding_ids()
    assert {"alert-new", "alerts", "alerts-new", "alerts-edit", "alerts-delete", "alerts-close"} <= set(ids)
    app = _app(bindings={"alert-new": "ctrl+n", "alerts": "ctrl+l"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = str(keys_table(app.keymap, app.get_key_display).columns[2]._cells)
        assert "alert-new" in text and "alerts-delete" in text
        await pilot.press("ctrl+l")
        assert isinstance(app.screen, AlertsScreen)
        await pilot.press("escape", "ctrl+n")
        assert isinstance(app.screen, RuleEditor)
        await pilot.press("A")  # typed into the rule, not the alerts view's key
        assert isinstance(app.screen, RuleEditor) and app.screen.query_one(Input).value.endswith("A")


async def test_without_a_selected_market_the_new_alert_key_says_so() -> None:
    app = fx.make_app(profile=fx.make_profile(watchlists={"empty": ()}))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("exclamation_mark")
        assert not isinstance(app.screen, RuleEditor)
        await until(
            lambda: any("Select a market first" in n.message for n in app._notifications),
            "the hint",
            pilot=pilot,
        )


# -- screenshots ---------------------------------------------------------------------------------


def _with_fired(pilot: Pilot[Any]) -> Any:
    async def run() -> None:
        app: KalshiApp = pilot.app  # type: ignore[assignment]
        await pilot.pause()
        bid = _bid(app)
        app.store.apply(m.OrderbookDelta(market_ticker=FED, side="yes", price=bid + 50, delta=100))
        await until(lambda: app.alert_desk.fired, "the alert", pilot=pilot)
        await pilot.press("A")
        await pilot.pause()

    return run()


def _screenshot_app() -> KalshiApp:
    store = fx.build_store()
    bid = store.markets[FED].book.yes_bid
    assert bid is not None
    rules = (
        Rule("bid_above", FED, price=bid.price),
        Rule("spread_at_least", BTC, price=500, repeat=True, hysteresis=100, cooldown=60),
        Rule("volume_at_least", BTC, contracts=100_000, window=300),
        Rule("lifecycle", FED, event="settled"),
        Rule("disconnected", seconds=30, repeat=True),
    )
    return fx.make_app(store, profile=fx.make_profile(alerts=rules))


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_alerts_view_screenshot(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(_screenshot_app(), terminal_size=size, run_before=_with_fired)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_new_alert_editor_screenshot(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(_screenshot_app(), terminal_size=size, press=["exclamation_mark"])
