"""The details screen (``i``): the selected market's rules, deadlines, strike, price levels,
settlement sources and day numbers.

The pane asks the app for the details with a message (``AskDetails``); the app fetches them
through the REST budget and puts them in the View, where the pane finds them. It redraws on
a new second (the countdowns) or new details, never more: a quiet screen is one frame a
second. Each block is its own widget and repaints only when its text changes.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from kalshi_tui.details import DETAILS_REFRESH, MarketDetails
from kalshi_tui.numbers import format_cents
from kalshi_tui.store import Changes, MarketState
from kalshi_tui.ui import cells as c
from kalshi_tui.ui.footer import KeyFooter
from kalshi_tui.ui.live_text import LiveText
from kalshi_tui.ui.pane import Pane
from kalshi_tui.ui.view import View

ASK_AGAIN = 30.0  # s before asking again for details that failed or are still coming
LABEL = 15

DETAILS_BINDINGS: list[BindingType] = [
    Binding("escape,i", "close", "Back", id="details-close"),
]


class AskDetails(Message):
    """The details pane needs ``ticker``'s details (missing, or older than DETAILS_REFRESH)."""

    def __init__(self, ticker: str) -> None:
        super().__init__()
        self.ticker = ticker


def zone(name: str) -> dt.tzinfo | None:
    """The profile's ``timezone`` -> a tzinfo (None: the machine's local zone)."""
    if name == "US/Eastern":
        return ZoneInfo("America/New_York")
    return None


def when_text(ts: int | None, tz: dt.tzinfo | None) -> str:
    if ts is None:
        return c.DASH
    moment = dt.datetime.fromtimestamp(ts, tz) if tz else dt.datetime.fromtimestamp(ts).astimezone()
    return moment.strftime("%a %Y-%m-%d %H:%M %Z")


def countdown_text(seconds: float) -> str:
    """To come: to the second ("in 2d 04:13:07"); past: coarse ("3h05m ago"), so it
    changes at most once a minute."""
    s = int(seconds)
    if s > 0:
        days, rest = divmod(s, 86_400)
        clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
        return f"in {days}d {clock}" if days else f"in {clock}"
    ago = -s
    if ago < 60:
        return "just now"
    return f"{c.duration_text(ago // 60 * 60).removesuffix('00s')} ago"


def levels_text(ranges: tuple[tuple[int, int, int], ...], structure: str = "") -> str:
    if not ranges:
        return c.DASH
    text = ", ".join(
        f"{format_cents(a)} to {format_cents(b)} by {format_cents(step)}" for a, b, step in ranges
    )
    return f"{text} ({structure})" if structure else text


def _line(text: Text, label: str, value: str, style: str = "") -> None:
    if text.plain:
        text.append("\n")
    text.append(f"{label:<{LABEL}}", style="dim")
    text.append(value, style=style)


def head_text(ticker: str, d: MarketDetails | None, state: MarketState | None) -> Text:
    meta = state.meta if state else None
    title = (d.title if d else "") or (meta.title if meta else "") or ticker
    text = Text(title, style="bold")
    if d and (d.yes_sub_title or d.no_sub_title):
        text.append(f"\nYes: {d.yes_sub_title or c.DASH} · No: {d.no_sub_title or c.DASH}")
    elif meta and meta.subtitle:
        text.append(f"\n{meta.subtitle}")
    if d and d.event_title and d.event_title != title:
        text.append(f"\n{d.event_title}" + (f" · {d.event_sub_title}" if d.event_sub_title else ""))
    parts = [ticker]
    if d and d.event_ticker:
        parts.append(f"event {d.event_ticker}")
    if d and d.series_ticker:
        parts.append(f"series {d.series_ticker}")
    status = (state.status if state else "") or (d.status if d else "")
    text.append("\n" + " · ".join(parts), style="dim")
    if status:
        text.append(" · ")
        text.append(status + (f" ({d.result})" if d and d.result else ""), style="bold")
    return text


def times_text(d: MarketDetails, tz_name: str, tz: dt.tzinfo | None, wall: float) -> Text:
    zone_name = tz_name if tz else f"local, {dt.datetime.fromtimestamp(wall).astimezone().tzname()}"
    text = Text(f"Times ({zone_name})", style="bold")
    rows = (
        ("Opens", d.open_ts),
        ("Closes", d.close_ts),
        ("Expected exp.", d.expected_expiration_ts),
        ("Latest exp.", d.latest_expiration_ts),
    )
    for label, ts in rows:
        when = when_text(ts, tz)
        left = f"   {countdown_text(ts - wall)}" if ts is not None else ""
        _line(text, label, f"{when:<26}{left}")
    if d.can_close_early:
        text.append("\nCan close early.", style="dim")
    return text


def numbers_text(d: MarketDetails | None, state: MarketState | None) -> Text:
    """The live numbers (the stream's, when it has them) and the day's (REST's, refreshed
    every DETAILS_REFRESH seconds)."""

    def live(name: str) -> int | None:
        value = getattr(state, name, None)
        return value if value is not None else (getattr(d, name) if d else None)

    last, volume, oi = live("last_price"), live("volume"), live("open_interest")
    text = Text()
    if d is not None:
        _line(text, "Strike", d.strike or c.DASH)
        _line(text, "Price levels", levels_text(d.price_ranges, d.price_level_structure))
    _line(text, "Last", c.cents(last))
    if d is not None:
        change = None if last is None or d.previous_price is None else last - d.previous_price
        text.append("   24 h change ", style="dim")
        text.append(c.signed_cents(change), style="bold")
        if d.previous_price is not None:
            text.append(f" (from {c.cents(d.previous_price)})", style="dim")
    _line(text, "Volume", c.contracts(volume))
    if d is not None:
        text.append("   24 h ", style="dim")
        text.append(c.contracts(d.volume_24h))
    _line(text, "Open interest", c.contracts(oi))
    return text


def rules_text(d: MarketDetails) -> Text:
    text = Text("Rules", style="bold")
    for rule in (d.rules_primary, d.rules_secondary):
        if rule:
            text.append(f"\n{rule}\n")
    if not (d.rules_primary or d.rules_secondary):
        text.append(f"\n{c.DASH}\n")
    text.append("\nSettlement sources", style="bold")
    for name, url in d.settlement_sources:
        text.append(f"\n{name}")
        if url:
            text.append(f"  {url}", style="dim")
    if not d.settlement_sources:
        text.append(f"\n{c.DASH}")
    return text


class DetailsPane(Pane):
    def __init__(self, view: View) -> None:
        super().__init__(view, id="details-pane")
        self._key: object = None
        self._second = -1
        self._shown: dict[str, str] = {}
        self._plain: dict[str, str] = {}
        self._asked: dict[str, float] = {}  # ticker -> clock() of the last ask
        self.draws = 0  # redraws that changed something: for tests

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="details-body"):
            yield LiveText("", id="details-head")
            yield LiveText("", id="details-times")
            yield LiveText("", id="details-numbers")
            yield Static("", id="details-rules")

    def focus_main(self) -> None:
        self.query_one("#details-body").focus()

    def refresh_view(self, changes: Changes, now: float, full: bool) -> None:
        view = self.view
        ticker = view.selected
        wall = view.wall_clock()
        second = int(wall)
        d = view.details.get(ticker) if ticker else None
        problem = view.details_errors.get(ticker) if ticker else None
        key = (ticker, id(d), problem, view.timezone)
        if not full and key == self._key and second == self._second:
            return
        self._key, self._second = key, second
        if ticker is None:
            self._show({"details-head": Text("No market selected: pick one on the watchlist.")})
            return
        self._maybe_ask(ticker, d, now)
        state = view.store.markets.get(ticker)
        blocks: dict[str, Text] = {
            "details-head": head_text(ticker, d, state),
            "details-numbers": numbers_text(d, state),
        }
        if d is not None:
            tz = zone(view.timezone)
            blocks["details-times"] = times_text(d, view.timezone, tz, wall)
            blocks["details-rules"] = rules_text(d)
        else:
            blocks["details-times"] = Text(problem or "Loading the details…", style="italic")
        self._show(blocks)

    def _maybe_ask(self, ticker: str, d: MarketDetails | None, now: float) -> None:
        if d is not None and now - d.fetched_at < DETAILS_REFRESH:
            return
        asked = self._asked.get(ticker)
        if asked is not None and now - asked < ASK_AGAIN:
            return
        self._asked[ticker] = now
        # Straight to the app: this runs inside the app's tick (or the screen's mount), and a
        # message does not bubble back to the pump that made it.
        self.app.post_message(AskDetails(ticker))

    def shown(self, wid: str) -> str:
        """The text a block shows now (for tests)."""
        return self._plain.get(wid, "")

    def _show(self, blocks: dict[str, Text]) -> None:
        changed = False
        for wid in ("details-head", "details-times", "details-numbers", "details-rules"):
            value = blocks.get(wid, Text())
            # Compare text and styles: a colour change is a change too.
            key = value.plain + repr(value.spans)
            if self._shown.get(wid) != key:
                self._shown[wid] = key
                self._plain[wid] = value.plain
                self.query_one(f"#{wid}", Static).update(value)
                changed = True
        self.draws += changed


class DetailsScreen(Screen[None]):
    """The details of the selected market, over the tabs; ``[`` and ``]`` still step markets."""

    BINDINGS: ClassVar[list[BindingType]] = DETAILS_BINDINGS

    def __init__(self, view: View) -> None:
        super().__init__(id="details-screen")
        self.view = view

    def compose(self) -> ComposeResult:
        yield Static("Details   i or escape: back   [ ]: other markets", id="details-title", markup=False)
        yield DetailsPane(self.view)
        yield KeyFooter()

    @property
    def pane(self) -> DetailsPane:
        return self.query_one(DetailsPane)

    def on_mount(self) -> None:
        self.pane.refresh_view(Changes(), self.view.clock(), full=True)
        self.pane.focus_main()

    def action_close(self) -> None:
        self.dismiss()
