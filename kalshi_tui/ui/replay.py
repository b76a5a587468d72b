"""The dashboard on a recording (``kalshi-tui replay``): the app with keys to pause, step and
change the speed of its ``ReplayFeed``; the header's subtitle says where the replay is."""

from __future__ import annotations

import time
from typing import Any, ClassVar, Protocol

from textual.binding import BindingType

from kalshi_tui.config import Profile
from kalshi_tui.ui.app import KalshiApp
from kalshi_tui.ui.help import KeysScreen
from kalshi_tui.ui.keys import APP_BINDINGS, REPLAY_BINDINGS


def replay_profile(markets: list[str]) -> Profile:
    """A profile for the screen only: the recorded markets as its watchlist; never dialled."""
    return Profile.create(
        "replay",
        "custom",
        ws_url="ws://recording.invalid/trade-api/ws/v2",
        rest_url="http://recording.invalid/trade-api/v2",
        watchlists={"recorded": markets},
    )


class Replaying(Protocol):
    """What the keys need of the feed (kalshi_tui.stream.replay.ReplayFeed)."""

    paused: bool
    speed: float
    t_ns: int | None

    def pause(self, paused: bool | None = None) -> None: ...
    def step(self) -> None: ...
    def set_speed(self, speed: float) -> None: ...


class ReplayApp(KalshiApp):
    BINDINGS: ClassVar[list[BindingType]] = [*APP_BINDINGS, *REPLAY_BINDINGS]

    def __init__(self, *args: Any, replay: Replaying, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.replay = replay

    def on_mount(self) -> None:
        # Textual calls every class's on_mount in turn: KalshiApp's has run (no super() here).
        self.set_interval(0.25, self._show_position)

    def _show_position(self) -> None:
        r = self.replay
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.t_ns / 1e9)) + " UTC" if r.t_ns else "start"
        state = "paused" if r.paused else f"x{r.speed:g}"
        self.sub_title = f"replay {state} at {at}"

    def action_replay_pause(self) -> None:
        self.replay.pause()
        self._show_position()

    def action_replay_step(self) -> None:
        self.replay.step()
        self._show_position()

    def action_replay_speed(self, factor: float) -> None:
        self.replay.set_speed(self.replay.speed * factor)
        self._show_position()

    def action_show_keys(self) -> None:
        self.push_screen(KeysScreen(self.keymap, [("Replay", REPLAY_BINDINGS)]))
