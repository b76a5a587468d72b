"""The top line: profile and environment, a connection badge, the exchange's state when it is
not plainly open (paused, maintenance soon), and the age of the data."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Static

from kalshi_tui import store as st
from kalshi_tui.ui.cells import age_text
from kalshi_tui.ui.live_text import LiveText

#: connection state -> (badge text, css class)
BADGES = {
    st.LIVE: ("● LIVE", "-live"),
    st.CONNECTING: ("◌ CONNECTING", "-warn"),
    st.RECONNECTING: ("↻ RECONNECTING", "-warn"),
    st.STALE: ("◐ STALE", "-warn"),
    st.DOWN: ("✕ DOWN", "-down"),
    st.AUTH_FAILED: ("✕ AUTH FAILED", "-down"),
}
#: A live socket with no data for this long is shown stale. Longer than two 10 s
#: keep-alive cycles, so a quiet market on a healthy link doesn't flap.
STALE_AFTER = 25.0


def badge_for(state: str, age: float | None, unsynced: int) -> tuple[str, str]:
    """Badge text and class for a connection state, the data age and unsynced books."""
    if state == st.LIVE and age is not None and age > STALE_AFTER:
        state = st.STALE
    text, css = BADGES.get(state, (state.upper(), "-warn"))
    if state == st.LIVE and unsynced:
        text, css = f"◐ LIVE, {unsynced} resyncing", "-warn"
    return text, css


def fit_note(note: str, width: int) -> str:
    """``note`` ("group · ticker") in ``width`` cells: the whole of it if it fits, else the
    last part (the selected market matters more than its group), cut with "…" if needed."""
    if cell_len(note) <= width:
        return note
    last = note.rsplit(" · ", 1)[-1]
    if cell_len(last) <= width:
        return last
    return last[: max(width - 1, 0)] + "…" if width > 0 else ""


class HeaderNote(Widget):
    """The right end of the header: never wraps, so the market can't be pushed off."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.note = ""

    def update(self, note: str) -> None:
        self.note = note
        self.refresh()

    def render(self) -> Text:
        return Text(fit_note(self.note, self.content_size.width), no_wrap=True, justify="right", end="")


class StatusHeader(Horizontal):
    """One line, docked at the top. Each part repaints only when its text changes."""

    def __init__(self, profile: str, environment: str) -> None:
        super().__init__(id="status-header")
        self._title = f"kalshi-tui  {profile} · {environment}"
        self._shown: dict[str, str] = {}

        self._badge = LiveText("", id="hdr-badge", markup=False)
        self._exchange = LiveText("", id="hdr-exchange", markup=False)
        self._age = LiveText("", id="hdr-age", markup=False)
        self._note = HeaderNote(id="hdr-note")

    def compose(self) -> ComposeResult:
        yield Static(self._title, id="hdr-title", markup=False)
        yield self._badge
        yield self._exchange
        yield self._note
        # The age at the right end, over the watchlist's Age column: a quiet second changes
        # both, and Textual repaints the box around all changed cells: a narrow column box,
        # not most of the screen.
        yield self._age

    def show(
        self,
        state: str,
        age: float | None,
        unsynced: int,
        note: str = "",
        exchange: tuple[str, str] = ("", ""),
    ) -> None:
        """``exchange``: the words and class from ``kalshi_tui.exchange.notice``."""
        text, css = badge_for(state, age, unsynced)
        if self._set("badge", f" {text} ", self._badge):
            self._badge.set_classes(css)
        words, loud = exchange
        if self._set("exchange", f" {words} " if words else "", self._exchange):
            self._exchange.set_classes(loud)
        self._set("age", f"data {age_text(age)}" if age is not None else "no data yet", self._age)
        self._set("note", note, self._note)

    def _set(self, part: str, text: str, widget: LiveText | HeaderNote) -> bool:
        if self._shown.get(part) == text:
            return False
        self._shown[part] = text
        widget.update(text)  # a LiveText: a new layout only when the part's width changes
        return True

    @property
    def badge_text(self) -> str:
        return self._shown.get("badge", "").strip()

    @property
    def exchange_text(self) -> str:
        return self._shown.get("exchange", "").strip()
