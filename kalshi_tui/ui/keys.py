"""Key bindings, each with a stable id so a profile's ``[bindings]`` table can remap it.

``[profiles.main.bindings]`` maps an id to a key (or comma-separated keys), e.g.
``market-next = "n"``; the app passes that table to ``App.set_keymap``. Ids use
hyphens, never dots, so they are bare TOML keys.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

TABS = ("watchlist", "depth", "trades", "fills", "connection", "portfolio")

APP_BINDINGS: list[BindingType] = [
    *(
        Binding(str(n), f"show_tab('{tab}')", tab.title(), id=f"tab-{tab}", show=False)
        for n, tab in enumerate(TABS, 1)
    ),
    Binding("right_square_bracket", "step_market(1)", "Next mkt", id="market-next"),
    Binding("left_square_bracket", "step_market(-1)", "Prev mkt", show=False, id="market-prev"),
    Binding("slash", "search_markets", "Search", id="search"),
    Binding("i", "show_details", "Details", show=False, id="details"),
    Binding("c", "show_chart", "Price chart", show=False, id="chart"),
    Binding("question_mark", "show_keys", "Keys", id="help"),
    Binding("exclamation_mark", "new_alert", "New alert on the selected market", show=False, id="alert-new"),
    Binding("A", "show_alerts", "Alerts: rules and log", show=False, id="alerts"),
    Binding("ctrl+p", "command_palette", "Palette", show=False, priority=True, id="command-palette"),
    Binding("T", "switch_theme", "Theme", show=False, id="theme"),
    Binding("f", "toggle_flash", "Flashes on/off", show=False, id="flash-toggle"),
    Binding("q", "quit", "Quit", id="quit"),
]

WATCHLIST_BINDINGS: list[BindingType] = [
    Binding("a", "add_market", "Add", id="watchlist-add"),
    Binding("d", "remove_market", "Remove", id="watchlist-remove"),
    Binding("s", "cycle_sort", "Sort", id="watchlist-sort"),
    Binding("S", "reverse_sort", "Reverse", show=False, id="watchlist-sort-reverse"),
    Binding("full_stop", "step_group(1)", "Next group", id="watchlist-group-next"),
    Binding("comma", "step_group(-1)", "Prev group", show=False, id="watchlist-group-prev"),
]

DEPTH_BINDINGS: list[BindingType] = [
    Binding("g", "cycle_grouping", "Grouping", id="depth-grouping"),
    Binding("v", "toggle_raw", "Ladder/raw", id="depth-raw"),
    Binding("j,down", "cursor(1)", "Level down", show=False, id="depth-down"),
    Binding("k,up", "cursor(-1)", "Level up", show=False, id="depth-up"),
    Binding("pagedown", "page(1)", "Page down", show=False, id="depth-page-down"),
    Binding("pageup", "page(-1)", "Page up", show=False, id="depth-page-up"),
    Binding("home", "cursor_home", "Back to the spread", show=False, id="depth-home"),
]

# Only in ``kalshi-tui replay``: the app is then a ReplayApp.
REPLAY_BINDINGS: list[BindingType] = [
    Binding("space", "replay_pause", "Replay: pause / play", id="replay-pause"),
    Binding("n", "replay_step", "Replay: one frame (pauses)", id="replay-step"),
    Binding("greater_than_sign", "replay_speed(2.0)", "Replay: twice as fast", id="replay-faster"),
    Binding("less_than_sign", "replay_speed(0.5)", "Replay: half as fast", id="replay-slower"),
]

TRADES_BINDINGS: list[BindingType] = [
    Binding("m", "toggle_scope", "Selected/all", id="trades-scope"),
]


def binding_ids() -> dict[str, str]:
    """Every remappable id and its description, for the keys screen and config checks."""
    from kalshi_tui.ui.alerts import ALERTS_VIEW_BINDINGS
    from kalshi_tui.ui.grid import LiveGrid

    out: dict[str, str] = {}
    from kalshi_tui.ui.chart import CHART_BINDINGS
    from kalshi_tui.ui.details import DETAILS_BINDINGS

    groups = (
        APP_BINDINGS,
        WATCHLIST_BINDINGS,
        DEPTH_BINDINGS,
        TRADES_BINDINGS,
        DETAILS_BINDINGS,
        CHART_BINDINGS,
        REPLAY_BINDINGS,
    )
    for group in (*groups, LiveGrid.BINDINGS, ALERTS_VIEW_BINDINGS):
        for b in group:
            if isinstance(b, Binding) and b.id:
                out[b.id] = b.description
    return out


def check_keymap(keymap: dict[str, str]) -> list[str]:
    """Ids in a profile's bindings that match no binding (probably a typo)."""
    known = binding_ids()
    return sorted(k for k in keymap if k not in known)
