"""Alerts in the dashboard: the evaluator run on each refresh tick, fired alerts announced
(toast, log, bell, OSC 9/777, the user's command), and the alerts view where rules are
listed, made, edited and deleted.

The rules and their evaluation are ``kalshi_tui.alerts`` (shared with ``kalshi-tui
alerts``); this module only shows them and saves the profile.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Static

from kalshi_tui.alerts import (
    KINDS,
    Alert,
    Evaluator,
    Rule,
    RuleError,
    new_rule_for,
    parse_rule_text,
    rule_text,
)
from kalshi_tui.notify import desktop_sequences, run_command
from kalshi_tui.store import Changes, Store
from kalshi_tui.ui.footer import KeyFooter

# The app (ui.app.KalshiApp) imports this module, so it is typed loosely here.
KalshiApp = Any

LOG_SIZE = 200

ALERTS_VIEW_BINDINGS: list[BindingType] = [
    Binding("n", "new_rule", "New", id="alerts-new"),
    Binding("e,enter", "edit_rule", "Edit", id="alerts-edit"),
    Binding("d,delete", "delete_rule", "Delete", id="alerts-delete"),
    Binding("escape,A", "close", "Close", id="alerts-close"),
]


@dataclass(frozen=True, slots=True)
class LogEntry:
    at: float  # wall clock
    text: str
    problem: bool = False  # a failed command, not an alert


class AlertDesk:
    """The app's alert state: the evaluator over its store and the log, newest first."""

    def __init__(self, store: Store, rules: tuple[Rule, ...]) -> None:
        self.evaluator = Evaluator(store, rules)
        self.log: deque[LogEntry] = deque(maxlen=LOG_SIZE)
        self.fired: list[Alert] = []  # every alert this session, oldest first (tests, the log)
        self.terminal_writes = 0  # bell + OSC notifications sent

    @property
    def rules(self) -> list[Rule]:
        return self.evaluator.rules

    def tick(self, app: KalshiApp, changes: Changes, now: float) -> None:
        """Called by the app's refresh tick with the changes it took from the store."""
        try:
            fired = self.evaluator.evaluate(changes, now, app.wall_clock())
        except Exception as exc:  # a bug in a rule must not take the dashboard down
            app.log.error(f"alert evaluation failed: {exc!r}")
            return
        if fired:
            self.announce(app, fired)

    def announce(self, app: KalshiApp, fired: list[Alert]) -> None:
        command = app.profile.alert_command
        for alert in fired:
            self.fired.append(alert)
            self.log.appendleft(LogEntry(alert.at, alert.message))
            app.notify(alert.message, title=alert.title, severity="warning", timeout=10)
            _write_terminal(app, desktop_sequences(alert))
            self.terminal_writes += 1
            if command:
                app.run_worker(self._run(app, command, alert), group="alert-command", exit_on_error=False)
        self.refresh_view(app)

    async def _run(self, app: KalshiApp, command: str, alert: Alert) -> None:
        problem = await run_command(command, alert)
        if problem:
            self.log.appendleft(LogEntry(app.wall_clock(), problem, problem=True))
            app.notify(problem, title="Alert command", severity="error", timeout=10)
            self.refresh_view(app)

    def refresh_view(self, app: KalshiApp) -> None:
        if isinstance(app.screen, AlertsScreen):
            app.screen.show()

    def set_rules(self, app: KalshiApp, rules: list[Rule]) -> None:
        self.evaluator.set_rules(rules)
        app.profile = app.profile.with_alerts(rules)
        app._save()


def _write_terminal(app: KalshiApp, text: str) -> None:
    # Through the driver, as App.bell does: its writer thread keeps the escape sequences
    # whole between frames. Headless runs (tests) have nothing to write to.
    driver = app._driver
    if driver is not None and not app.is_headless:
        driver.write(text)


def open_new_rule(app: KalshiApp) -> None:
    """A new rule on the selected market, prefilled at its current price."""
    ticker = app.selected
    if not ticker:
        app.notify("Select a market first: the new alert is made on it.", timeout=4)
        return
    rule = new_rule_for(app.store, ticker)

    def made(result: Rule | None) -> None:
        if result is not None:
            app.alert_desk.set_rules(app, [*app.alert_desk.rules, result])
            app.notify(f"Alert added: {result.describe()}", timeout=4)
            app.alert_desk.refresh_view(app)

    app.push_screen(RuleEditor(rule, f"New alert on {ticker}"), made)


class RuleEditor(ModalScreen[Rule | None]):
    """One rule as ``key=value`` words; Enter saves it, escape leaves it as it was."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="alert-edit-cancel")]
    DEFAULT_CSS = """
    RuleEditor { align: center middle; }
    #rule-box {
        width: 90%; max-width: 100; height: auto;
        border: round $accent; background: $panel; padding: 0 1;
    }
    #rule-error { color: $error; height: auto; }
    #rule-hint { color: $foreground-muted; height: auto; }
    """

    def __init__(self, rule: Rule, title: str) -> None:
        super().__init__(id="rule-editor")
        self.rule = rule
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="rule-box"):
            yield Static(f"{self.title_text}  (enter saves, escape cancels)", id="rule-title", markup=False)
            yield Input(rule_text(self.rule), id="rule-input")
            yield Static("", id="rule-error", markup=False)
            yield Static(
                "when = " + " | ".join(KINDS) + ".  price in dollars (0.55), contracts, window/seconds/"
                "cooldown in seconds, event = closed|determined|settled|paused, repeat=true, hysteresis.",
                id="rule-hint",
                markup=False,
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            rule = parse_rule_text(event.value)
        except RuleError as exc:
            self.query_one("#rule-error", Static).update(str(exc))
            return
        self.dismiss(rule)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AlertsScreen(Screen[None]):
    """The rules (with their state) and the log of fired alerts."""

    BINDINGS: ClassVar[list[BindingType]] = ALERTS_VIEW_BINDINGS
    DEFAULT_CSS = """
    AlertsScreen { background: $background; }
    #alerts-title, #alerts-log-title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    #alert-rules { height: 1fr; }
    #alert-log { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__(id="alerts-screen")

    @property
    def desk(self) -> AlertDesk:
        return self.app.alert_desk  # type: ignore[attr-defined,no-any-return]

    def compose(self) -> ComposeResult:
        yield Static(
            "Alert rules  (n new on the selected market, e edit, d delete, escape back)", id="alerts-title"
        )
        yield DataTable(id="alert-rules", cursor_type="row", zebra_stripes=False)
        yield Static("Fired, newest first", id="alerts-log-title")
        yield DataTable(id="alert-log", cursor_type="none")
        yield KeyFooter()

    def on_mount(self) -> None:
        rules = self.query_one("#alert-rules", DataTable)
        rules.add_columns("#", "State", "Rule")  # the state first: a long rule is cut, not it
        log = self.query_one("#alert-log", DataTable)
        log.add_columns("Time", "Alert")
        self.show()
        rules.focus()

    def show(self) -> None:
        table = self.query_one("#alert-rules", DataTable)
        row = table.cursor_row
        table.clear()
        ev = self.desk.evaluator
        watched = self.app.watched  # type: ignore[attr-defined]
        for i, rule in enumerate(self.desk.rules):
            # The dashboard streams only its watchlists: a rule elsewhere cannot fire here.
            state = "unwatched" if rule.market and rule.market not in watched else ev.state_of(i)
            table.add_row(str(i + 1), state, rule.describe())
        if not self.desk.rules:
            table.add_row("", "", "No rules yet: select a market and press n (or ! anywhere).")
        elif row:
            table.move_cursor(row=min(row, len(self.desk.rules) - 1))
        log = self.query_one("#alert-log", DataTable)
        log.clear()
        for entry in self.desk.log:
            stamp = time.strftime("%H:%M:%S", time.localtime(entry.at))
            log.add_row(stamp, ("! " if entry.problem else "") + entry.text)

    def _current(self) -> int | None:
        if not self.desk.rules:
            return None
        return self.query_one("#alert-rules", DataTable).cursor_row

    def action_new_rule(self) -> None:
        open_new_rule(self.app)  # type: ignore[arg-type]

    def action_edit_rule(self) -> None:
        index = self._current()
        if index is None:
            return
        app: KalshiApp = self.app

        def edited(result: Rule | None) -> None:
            if result is not None:
                rules = list(self.desk.rules)
                rules[index] = result
                self.desk.set_rules(app, rules)
                self.show()

        app.push_screen(RuleEditor(self.desk.rules[index], f"Edit alert {index + 1}"), edited)

    def action_delete_rule(self) -> None:
        index = self._current()
        if index is None:
            return
        app: KalshiApp = self.app
        rules = list(self.desk.rules)
        gone = rules.pop(index)
        self.desk.set_rules(app, rules)
        self.show()
        app.notify(f"Alert deleted: {gone.describe()}", timeout=4)

    def action_close(self) -> None:
        self.app.pop_screen()
