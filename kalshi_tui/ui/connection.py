"""Connection tab: the stream's health, rates with sparklines, recent errors, subscriptions."""

from __future__ import annotations

import time
from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from kalshi_tui.store import Changes, Metrics
from kalshi_tui.ui import cells as c
from kalshi_tui.ui.audit_health import audit_text
from kalshi_tui.ui.live_text import LiveText
from kalshi_tui.ui.pane import Pane
from kalshi_tui.ui.rest_health import rest_text
from kalshi_tui.ui.view import View

MAX_ERRORS_SHOWN = 8
SPARK_SECONDS = 60


def _window(history: Iterable[int]) -> list[int]:
    """The last minute, zero-padded on the left so a young connection's bars keep their
    width instead of stretching a few seconds across the whole sparkline."""
    data = list(history)[-SPARK_SECONDS:]
    return [0] * (SPARK_SECONDS - len(data)) + data


def summary_text(mt: Metrics, wall_now: float) -> Text:
    # Counts come in pairs on one line; each kind of trouble has its own count.
    rows: list[tuple[str, str] | tuple[str, str, str, str]] = [
        ("State", mt.state),
        ("Endpoint", mt.endpoint or c.DASH),
        ("Uptime", c.duration_text(mt.uptime(wall_now)) if mt.connected_since else c.DASH),
        ("Messages", f"{mt.messages:,}"),
        ("Ping", f"{mt.ping_rtt * 1000:.0f} ms" if mt.ping_rtt is not None else c.DASH),
        ("Reconnects", str(mt.reconnects), "Drops", str(mt.drops)),
        ("Gaps", str(mt.gaps), "Resyncs", str(mt.resyncs)),
        # Malformed: frames that could not be read; ignored: data for no subscription or
        # market we hold (counted, never applied).
        ("Malformed", str(mt.malformed), "Ignored", str(mt.ignored)),
        ("Conn. fails", str(mt.connect_failures)),  # 11 cells: the label column is 12
    ]
    if len(mt.connections) > 1:
        states = ", ".join(f"#{i} {s}" for i, s in sorted(mt.connections.items()))
        rows.insert(1, ("Connections", states))
    text = Text(no_wrap=True, overflow="ellipsis")
    for n, row in enumerate(rows):
        if n:
            text.append("\n")
        label, value = row[0], row[1]
        text.append(f"{label:<12}", style="dim")
        if len(row) == 2:
            text.append(value, style="bold" if label == "State" else "")
            continue
        text.append(f"{value:<8}")
        text.append(f"{row[2]:<9}", style="dim")
        text.append(row[3])
    return text


def errors_table(mt: Metrics) -> Table:
    table = Table(
        box=None,
        expand=True,
        show_edge=False,
        pad_edge=False,
        title="Last errors",
        title_justify="left",
        title_style="bold",
    )
    table.add_column("Time", no_wrap=True, width=8)
    table.add_column("Code", no_wrap=True, justify="right", width=4)
    table.add_column("What happened", ratio=3, overflow="ellipsis", no_wrap=True)
    table.add_column("Detail", ratio=2, overflow="ellipsis", no_wrap=True, style="dim")
    shown = list(mt.last_errors)[-MAX_ERRORS_SHOWN:]
    for ev in reversed(shown):
        table.add_row(
            time.strftime("%H:%M:%S", time.localtime(ev.at)),
            str(ev.code) if ev.code is not None else c.DASH,
            ev.sentence,
            ev.detail,
        )
    if not shown:
        table.add_row("", "", Text("No errors.", style="dim"), "")
    if mt.errors_by_code:
        counts = "  ".join(f"{code} x{n}" for code, n in sorted(mt.errors_by_code.items()))
        table.caption = f"by code: {counts}"
        table.caption_justify = "left"
    return table


def subscriptions_table(mt: Metrics) -> Table:
    table = Table(
        box=None,
        expand=True,
        show_edge=False,
        pad_edge=False,
        title="Subscriptions",
        title_justify="left",
        title_style="bold",
    )
    table.add_column("#", justify="right", width=2)
    table.add_column("Channel", ratio=1, min_width=15, no_wrap=True, overflow="ellipsis")
    table.add_column("sid", justify="right", width=4)
    table.add_column("Mkts", justify="right", width=6)
    for sub in mt.subscriptions:
        table.add_row(
            str(sub.connection), sub.channel, str(sub.sid) if sub.sid is not None else "…", f"{sub.markets:,}"
        )
    if not mt.subscriptions:
        table.add_row("", Text("none yet", style="dim"), "", "")
    return table


class ConnectionPane(Pane, can_focus=True):
    def __init__(self, view: View) -> None:
        super().__init__(view, id="connection-pane")
        self._shown: dict[str, object] = {}
        self._second = -1

    def compose(self) -> ComposeResult:
        with Horizontal(id="conn-top"):
            yield LiveText("", id="conn-summary")
            with Vertical(id="conn-rates"):
                yield LiveText("", id="conn-msg-label", markup=False)
                yield Sparkline([], id="conn-msg-spark")
                yield LiveText("", id="conn-byte-label", markup=False)
                yield Sparkline([], id="conn-byte-spark")
        yield LiveText("", id="conn-rest")
        yield LiveText("", id="conn-audit")
        with Horizontal(id="conn-bottom"):
            yield Static("", id="conn-errors")
            yield Static("", id="conn-subs")

    def focus_main(self) -> None:
        self.focus()  # nothing to edit here, but the keys (1-5, [ ]) must land somewhere

    def refresh_view(self, changes: Changes, now: float, full: bool) -> None:
        view = self.view
        wall = view.wall_clock()
        second = int(wall)
        # Rates and uptime move once a second; everything else only on a connection change.
        if not (full or changes.connection or second != self._second):
            return
        self._second = second
        mt = view.store.metrics
        self._update("conn-summary", summary_text(mt, wall))
        msg_rate = mt.msg_rate.rate(wall)
        byte_rate = mt.byte_rate.rate(wall)
        self._update("conn-msg-label", f"msgs/s   {c.count_text(msg_rate)}")
        self._update("conn-byte-label", f"bytes/s  {c.bytes_text(byte_rate)}")
        self._spark("conn-msg-spark", _window(mt.msg_rate.history))
        self._spark("conn-byte-spark", _window(mt.byte_rate.history))
        self._update("conn-rest", rest_text(mt.rest, view.clock()))
        self._update("conn-audit", audit_text(mt.audit, wall))
        err_key = (
            len(mt.last_errors),
            id(mt.last_errors[-1]) if mt.last_errors else 0,
            tuple(sorted(mt.errors_by_code.items())),
        )
        if full or self._shown.get("err-key") != err_key:
            self._shown["err-key"] = err_key
            self.query_one("#conn-errors", Static).update(errors_table(mt))
        subs_key = tuple((s.connection, s.channel, s.sid, s.markets) for s in mt.subscriptions)
        if full or self._shown.get("subs-key") != subs_key:
            self._shown["subs-key"] = subs_key
            self.query_one("#conn-subs", Static).update(subscriptions_table(mt))

    def _update(self, wid: str, value: Text | str) -> None:
        key = value.plain if isinstance(value, Text) else value
        if self._shown.get(wid) != key:
            self._shown[wid] = key
            self.query_one(f"#{wid}", Static).update(value)

    def _spark(self, wid: str, data: list[int]) -> None:
        if self._shown.get(wid) != data:
            self._shown[wid] = data
            self.query_one(f"#{wid}", Sparkline).data = data
