"""KalshiApp: the dashboard. It reads a Store; a feed (the stream Pool) writes to it.

One timer at the profile's refresh rate takes the store's change set and refreshes only
the visible tab, and within it only what changed. Nothing redraws per message. The store,
feed, REST client, profile and clocks are all passed in, so tests can build the app on a
pre-filled store with a fixed clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar, cast

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.command import CommandPalette
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from kalshi_tui import store as st
from kalshi_tui.budget import BACKGROUND
from kalshi_tui.candles import Candle, Series
from kalshi_tui.config import Profile
from kalshi_tui.details import MarketDetails
from kalshi_tui.errors import AuthRejected
from kalshi_tui.exchange import notice as exchange_notice
from kalshi_tui.store import Changes, MarketMeta, Store
from kalshi_tui.ui import hangup, partial_repaint
from kalshi_tui.ui.alerts import AlertDesk, AlertsScreen, open_new_rule
from kalshi_tui.ui.cells import market_title
from kalshi_tui.ui.chart import AskCandles, ChartScreen
from kalshi_tui.ui.connection import ConnectionPane
from kalshi_tui.ui.depth import DepthPane
from kalshi_tui.ui.details import AskDetails, DetailsScreen
from kalshi_tui.ui.fills import FillsPane
from kalshi_tui.ui.footer import KeyFooter
from kalshi_tui.ui.header import StatusHeader
from kalshi_tui.ui.help import KeysScreen
from kalshi_tui.ui.keys import APP_BINDINGS, TABS, check_keymap
from kalshi_tui.ui.palette import AddMarket, AppCommands, MarketSearch
from kalshi_tui.ui.pane import AskAddMarket, Pane, RemoveMarket, SelectMarket, StepGroup
from kalshi_tui.ui.portfolio import AccountPoller, AccountSource, PortfolioPane
from kalshi_tui.ui.tabs import TabSwitcher
from kalshi_tui.ui.themes import DEFAULT_THEME, VARIABLE_DEFAULTS, load_themes, theme_dirs
from kalshi_tui.ui.trades import TradesPane
from kalshi_tui.ui.view import View
from kalshi_tui.ui.watchdata import WatchData
from kalshi_tui.ui.watchlist import WatchlistPane

TAB_LABELS = {
    "watchlist": "1 Watchlist",
    "depth": "2 Depth",
    "trades": "3 Trades",
    "fills": "4 Fills",
    "connection": "5 Connection",
    "portfolio": "6 Portfolio",
}
TOAST_EVERY = 10.0  # s: the same error code is toasted at most this often (the tab keeps all)
META_RETRY_FIRST = 1.0  # s: first wait before asking REST again for market names
META_RETRY_CAP = 60.0  # s: the longest wait between two tries
# With nothing new for this long the refresh dozes: one tick a second (ages, countdowns) until
# data, a key or a fetched answer wakes it. Each wake-up of an idle process costs CPU (over
# SSH, on a laptop's battery, in a VM); ten a second for nothing is most of the idle cost.
DOZE_AFTER = 1.0  # s, longer than a price flash
CLOCK_EVERY = 1.0  # s between ticks while dozing
HISTORY_WAITS_FOR_DATA = 3.0  # s: the longest sparkline history waits for the first prices

_T = TypeVar("_T")
_W = TypeVar("_W", bound=Widget)


def is_sign_in_error(detail: str | None) -> bool:
    """The exchange refused the key (the session records the upgrade's HTTP status)."""
    return bool(detail) and detail.startswith(("HTTP 401", "HTTP 403"))  # type: ignore[union-attr]


class Feed(Protocol):
    """What the app needs from the stream (kalshi_tui.stream.Pool)."""

    async def run(self) -> None: ...
    async def add_markets(self, tickers: Sequence[str]) -> None: ...
    async def remove_markets(self, tickers: Sequence[str]) -> None: ...
    async def close(self) -> None: ...


class MarketSource(Protocol):
    """What the app needs from REST (kalshi_tui.rest.RestClient)."""

    async def markets(
        self, tickers: Sequence[str] | None = None, status: str | None = None, priority: int = ...
    ) -> list[MarketMeta]: ...
    async def market_details(self, ticker: str) -> MarketDetails: ...
    async def series_ticker(self, event_ticker: str) -> str: ...
    async def candlesticks(
        self, series: str, ticker: str, start: int, end: int, period: int
    ) -> list[Candle]: ...


class KalshiApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "kalshi-tui"
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS
    COMMANDS = App.COMMANDS | {MarketSearch, AppCommands}

    def __init__(
        self,
        store: Store,
        *,
        feed: Feed | None = None,
        rest: MarketSource | None = None,
        profile: Profile | None = None,
        theme: str | None = None,
        save_profile: Callable[[Profile], Any] | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
        theme_folders: Sequence[Path] | None = None,
        watch_terminal: bool = True,
        account: AccountSource | None = None,
    ) -> None:
        super().__init__()
        partial_repaint.install()  # partial repaints send only the changed cells, not whole lines
        self.store = store
        self.feed = feed
        self.rest = rest
        self.profile = profile or Profile.create()
        self.save_profile = save_profile
        self.clock = clock or store.clock
        self.wall_clock = wall_clock or time.time
        self._theme_wanted = theme or self.profile.theme or DEFAULT_THEME
        self._theme_folders = list(theme_folders) if theme_folders is not None else None
        self._watch_terminal = watch_terminal
        self.keymap: dict[str, str] = dict(self.profile.bindings)

        groups: dict[str, list[str]] = {
            name: list(tickers) for name, tickers in self.profile.watchlists.items()
        } or {"watchlist": []}
        current = next(iter(groups))
        first = groups[current]
        # The one View every pane draws; the properties below are the app's handles on it.
        self.view = View(
            store,
            self.clock,
            self.wall_clock,
            groups,
            current,
            selected=first[0] if first else None,
            flash=self.profile.flash,
            timezone=self.profile.timezone,
            wake=self.wake,
        )
        self._recount_watched()
        self.account_poller = AccountPoller(self, account, self.view) if account is not None else None
        self.alert_desk = AlertDesk(store, self.profile.alerts)
        self.catalog: dict[str, MarketMeta] = {}
        self._names: dict[str, str] | None = None
        self.watch_data: WatchData | None = None  # 24 h change, sparklines: from REST, off the UI path

        self._full: set[str] = set(TABS)  # tabs that must redo everything when next shown
        self._last_data = max((m.updated for m in store.markets.values()), default=0.0)
        self._unsynced = 0
        self._header_second = -1
        self._header_age: float | None = None
        self._last_state = store.metrics.state
        # Drops are counted by the stream; a tick may never see the LIVE -> RECONNECTING step.
        self._drops_seen = store.metrics.reconnects
        self._rebuilding = False  # a drop was toasted and LIVE has not come back since
        self._seen_error: object | None = store.metrics.last_errors[-1] if store.metrics.last_errors else None
        self._toasted: dict[int | str | None, float] = {}
        self._feed_closing = False
        self._details_pending: set[str] = set()
        self._candles_pending: set[tuple[str, int]] = set()
        self._leaving = False
        self._stdin_was_tty = False
        self.meta_retry_first = META_RETRY_FIRST
        self._parts: dict[str, Widget] = {}
        self._refresh: Timer | None = None
        self._dozing = False
        self._quiet = 0  # ticks in a row with nothing new to draw
        self._doze_after = 10
        self.wakes = 0  # times woken from dozing: for tests and the benchmark
        self._first_data = asyncio.Event()  # set once the first market data is on screen
        self.history_waits = HISTORY_WAITS_FOR_DATA
        self.ticks = 0  # refresh ticks run: for tests and the benchmark
        self.tick_seconds = 0.0  # CPU time spent inside ticks

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader(self.profile.name, self.profile.environment)
        with TabSwitcher(initial="watchlist", id="tabs"):
            with TabPane(TAB_LABELS["watchlist"], id="watchlist"):
                yield WatchlistPane(self.view)
            with TabPane(TAB_LABELS["depth"], id="depth"):
                yield DepthPane(self.view)
            with TabPane(TAB_LABELS["trades"], id="trades"):
                yield TradesPane(self.view)
            with TabPane(TAB_LABELS["fills"], id="fills"):
                yield FillsPane(self.view)
            with TabPane(TAB_LABELS["connection"], id="connection"):
                yield ConnectionPane(self.view)
            with TabPane(TAB_LABELS["portfolio"], id="portfolio"):
                yield PortfolioPane(self.view)
        yield KeyFooter()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        # Plain text by default: messages carry tickers, paths and exchange text, where a
        # "[" would otherwise be read as markup.
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # $up/$down/$bid/$ask/$stale exist whatever theme is picked (Textual's own included).
        return {**super().get_theme_variable_defaults(), **VARIABLE_DEFAULTS}

    def on_mount(self) -> None:
        self._setup_theme()
        self._setup_keymap()
        rate = self.profile.refresh_rate or 10.0
        self._refresh = self.set_interval(1.0 / rate, self._tick, name="refresh")
        self._doze_after = max(1, round(rate * DOZE_AFTER))
        self.set_interval(CLOCK_EVERY, self._dozing_tick, name="clock")
        if self.feed is not None:
            self.run_worker(self._run_feed(), name="feed", group="feed", exit_on_error=False)
        if self.rest is not None:
            self.run_worker(self._load_metadata(), name="metadata", exit_on_error=False)
        if self.account_poller is not None:
            self.account_poller.start()
        if self._watch_terminal and not self.is_headless:
            self._stdin_was_tty = hangup.stdin_is_tty()
            self.set_interval(1.0, hangup.install(self._on_exit_signal), name="hangup-check")
        self.app_resume_signal.subscribe(self, self._repaint_after_resume)
        self._count_unsynced()
        self._tick()
        self.call_after_refresh(self._focus_active)

    def _repaint_after_resume(self, _app: object) -> None:
        # Back from ctrl+z / SIGTSTP: Textual re-enters the alternate screen, which the
        # terminal shows blank, but repaints only what changes next. Draw everything now.
        self._full.update(TABS)
        self.screen.refresh(layout=True)

    def _setup_theme(self) -> None:
        folders = self._theme_folders if self._theme_folders is not None else theme_dirs()
        loaded = load_themes(folders)
        for theme in loaded.themes:
            self.register_theme(theme)
        for problem in loaded.problems:
            self.notify(problem, title="Theme file skipped", severity="warning", timeout=12)
        wanted = self._theme_wanted
        if wanted in self.available_themes:
            self.theme = wanted
            return
        fallback = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        ours = sorted(t.name for t in loaded.themes)
        self.notify(
            f"No theme named {wanted!r}; using {fallback}. Themes: {', '.join(ours) or 'none found'}.",
            title="Theme",
            severity="warning",
            timeout=12,
        )
        self.theme = fallback

    def _setup_keymap(self) -> None:
        unknown = check_keymap(self.keymap)
        if unknown:
            self.notify(
                f"Unknown binding id(s) in the profile: {', '.join(unknown)}. Press ? for the list.",
                title="Keys",
                severity="warning",
                timeout=12,
            )
        self.set_keymap(self.keymap)

    # -- the refresh tick ------------------------------------------------------------------

    @property
    def dozing(self) -> bool:
        """Nothing new for a while: ticking once a second until woken."""
        return self._dozing

    def wake(self) -> None:
        """Tick at the refresh rate again, from now (new data, a key, an answer from REST)."""
        self._quiet = 0
        if self._dozing and self._refresh is not None:
            self._dozing = False
            self.wakes += 1
            self.store.wake = None
            self._refresh.resume()  # a paused Textual timer fires at once when resumed

    def _doze(self) -> None:
        if self._refresh is not None:
            self._dozing = True
            self._refresh.pause()
            self.store.wake = self.wake

    def _dozing_tick(self) -> None:
        if self._dozing:
            self._tick()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.wake()  # what a key or the mouse does shows at the refresh rate
        await super().on_event(event)

    @property
    def active_tab(self) -> str:
        return self._part("#tabs", TabbedContent).active or "watchlist"

    def pane(self, tab: str) -> Pane:
        return self._part(f"#{tab}-pane", Pane)

    def _part(self, selector: str, kind: type[_W]) -> _W:
        """A widget of the dashboard's fixed layout, looked up once: the tick asks for the
        tabs, a pane and the header ten times a second."""
        found = self._parts.get(selector)
        if found is None:
            found = self._parts[selector] = self.query_one(selector, kind)
        return cast(_W, found)

    def _tick(self) -> None:
        if not self.is_running:  # shutting down: widgets are being removed
            return
        started = time.process_time()
        self.ticks += 1
        now = self.clock()
        changes = self.store.take_changes()
        if changes.markets or changes.books or changes.trades or changes.fills or changes.orders:
            self._quiet = 0
            if not self._first_data.is_set():
                self.call_after_refresh(self._first_data.set)  # once the prices are on screen
        else:
            self._quiet += 1  # a connection touch alone is not news: it comes every second
        self.alert_desk.tick(self, changes, now)  # fires on the first tick after the frame
        if changes.markets or changes.books:
            markets = self.store.markets
            moved = changes.markets | changes.books
            newest = max((markets[t].updated for t in moved if t in markets), default=0.0)
            self._last_data = max(self._last_data, newest)
            if moved & self.watched:
                self._count_unsynced()
        if changes.trades:
            self.view.sparks.absorb(self.store.trades, self.watched)
        if changes.fills and self.account_poller is not None:
            self.account_poller.request()  # the balance moved: fetch it now, not in 30 s
        if changes.metadata:
            self._names = None
            self._full.update(("watchlist", "depth"))
        tab = self.active_tab
        full = tab in self._full
        self._full.discard(tab)
        if changes.trades and self.selected in self.view.charts.tickers():
            self._fold_trades(self.selected)
        # The details screen covers the tabs: refresh it instead; the tab redoes all when back.
        details = self.screen if isinstance(self.screen, (DetailsScreen, ChartScreen)) else None
        if details is not None:
            self._full.add(tab)
        try:
            (details.pane if details else self.pane(tab)).refresh_view(changes, now, full and not details)
        except Exception as exc:  # a display bug must not take the dashboard down
            self.log.error(f"refresh of {tab} failed: {exc!r}")
            self._full.add(tab)
        self._refresh_header(now)
        self._report_problems()
        if self._quiet >= self._doze_after and not self._dozing:
            self._doze()
        self.tick_seconds += time.process_time() - started

    def _count_unsynced(self) -> None:
        """Watched books that were live and lost sync (a gap, a bad delta): resyncing."""
        markets = self.store.markets
        self._unsynced = sum(1 for t in self.watched if t in markets and markets[t].book.lost_sync)

    def _refresh_header(self, now: float) -> None:
        # The age is read on whole seconds of the clock, the same tick the watchlist's ages
        # move, so a quiet screen changes once a second, not twice.
        second = int(now)
        if second != self._header_second or self._header_age is None:
            self._header_second = second
            self._header_age = now - self._last_data if self._last_data else None
        age = self._header_age
        if age is not None and age > 1 and now - self._last_data < 1:
            age = now - self._last_data  # data is flowing again: say so at once
        group = self.current_group
        note = f"{group} · {self.selected}" if self.selected else group
        mt = self.store.metrics
        words = exchange_notice(mt.exchange, self.wall_clock())  # paused, maintenance soon
        self._part("#status-header", StatusHeader).show(mt.state, age, self._unsynced, note, words)

    def _report_problems(self) -> None:
        """Toast new errors (rate-limited per code) and connection state changes."""
        mt = self.store.metrics
        state = mt.state
        # From the drop counter, not from sampled states: on a busy machine a whole
        # LIVE -> RECONNECTING -> LIVE round trip can fall between two ticks.
        if mt.reconnects != self._drops_seen:
            self._drops_seen = mt.reconnects
            self._rebuilding = True
            self.notify("Connection lost: reconnecting.", severity="warning", timeout=5)
        if state != self._last_state:
            self._last_state = state
            if state == st.DOWN:
                self._rebuilding = True
                self.notify("Connection down.", severity="error", timeout=8)
        if state == st.LIVE and self._rebuilding:
            self._rebuilding = False
            self.notify("Reconnected: books rebuilt from fresh snapshots.", timeout=4)
            if self.account_poller is not None:
                # Order and position changes sent while we were away are not replayed by the
                # socket: the account is read again now, not at the next 30 s refresh.
                self.account_poller.request()
        errors = mt.last_errors
        if not errors or errors[-1] is self._seen_error:
            return
        fresh = []
        for ev in reversed(errors):
            if ev is self._seen_error:
                break
            fresh.append(ev)
        self._seen_error = errors[-1]
        wall = self.wall_clock()
        for ev in reversed(fresh[:5]):
            if is_sign_in_error(ev.detail):
                self._toast_sign_in(ev)  # one toast, with what to do, not a second one
                continue
            if wall - self._toasted.get(ev.code, -1e9) < TOAST_EVERY:
                continue
            self._toasted[ev.code] = wall
            title = f"Error {ev.code}" if ev.code is not None else "Connection"
            self.notify(
                ev.sentence + (f"\n{ev.detail}" if ev.detail else ""),
                title=title,
                severity="error" if ev.code in (9, 10, 25) else "warning",
                timeout=6,
            )

    def _toast_sign_in(self, ev: st.ErrorEvent) -> None:
        """One toast for a refused key, however many refusals."""
        wall = self.wall_clock()
        if wall - self._toasted.get("sign-in", -1e9) < TOAST_EVERY:
            return
        self._toasted["sign-in"] = wall
        self.notify(
            f"{ev.sentence}\nPress q to quit, then check the key with kalshi-tui config show.",
            title="Sign-in failed",
            severity="error",
            timeout=3600,
        )

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        tab = event.pane.id or "watchlist"
        self._full.discard(tab)
        # Show it at once rather than at the next tick: switching must feel instant.
        self.pane(tab).refresh_view(Changes(), self.clock(), full=True)
        # The pane becomes visible on the next refresh; only then can it take focus.
        self.call_after_refresh(self._focus_active)

    def _focus_active(self) -> None:
        self.pane(self.active_tab).focus_main()

    @on(TabSwitcher.StrayFocus)
    def _stray_focus(self) -> None:
        # Focus went to a hidden tab (e.g. given back as a dialog closed): the keys belong
        # to the tab on screen.
        self.call_after_refresh(self._focus_active)

    # -- markets and groups ----------------------------------------------------------------

    @property
    def groups(self) -> dict[str, list[str]]:
        return self.view.groups

    @property
    def current_group(self) -> str:
        return self.view.current_group

    @current_group.setter
    def current_group(self, group: str) -> None:
        self.view.current_group = group

    @property
    def selected(self) -> str | None:
        return self.view.selected

    @selected.setter
    def selected(self, ticker: str | None) -> None:
        self.view.selected = ticker

    @property
    def watched(self) -> set[str]:
        return self.view.watched

    @property
    def flash_enabled(self) -> bool:
        return self.view.flash

    @flash_enabled.setter
    def flash_enabled(self, on: bool) -> None:
        self.view.flash = on

    # What the panes ask for.

    @on(SelectMarket)
    def _select_market_asked(self, event: SelectMarket) -> None:
        self.select_market(event.ticker, event.show_depth)

    @on(AskAddMarket)
    def _add_market_asked(self, event: AskAddMarket) -> None:
        self.open_add_market()

    @on(RemoveMarket)
    def _remove_market_asked(self, event: RemoveMarket) -> None:
        self.remove_market(event.ticker, event.group)

    @on(StepGroup)
    def _step_group_asked(self, event: StepGroup) -> None:
        self.step_group(event.step)

    @on(AskDetails)
    def _details_asked(self, event: AskDetails) -> None:
        if self.rest is None:
            self.view.details_errors[event.ticker] = "No REST connection: details can't be loaded."
        elif event.ticker not in self._details_pending:
            self._details_pending.add(event.ticker)
            self.run_worker(self._fetch_details(event.ticker), exit_on_error=False)

    @on(AskCandles)
    def _candles_asked(self, event: AskCandles) -> None:
        if self.rest is None:
            self.view.charts.fail(event.ticker, event.minutes, "No REST connection: candles can't be loaded.")
        elif (event.ticker, event.minutes) not in self._candles_pending:
            self._candles_pending.add((event.ticker, event.minutes))
            self.run_worker(self._fetch_candles(event), exit_on_error=False)

    def _recount_watched(self) -> None:
        self.view.watched = {t for tickers in self.groups.values() for t in tickers}

    def group_of(self, ticker: str) -> str | None:
        if ticker in self.groups.get(self.current_group, ()):
            return self.current_group
        return next((g for g, ts in self.groups.items() if ticker in ts), None)

    def market_names(self) -> dict[str, str]:
        """Ticker -> title for search: the store's markets, then the exchange's catalogue."""
        if self._names is None:
            names = {t: market_title(m.meta) for t, m in self.store.markets.items()}
            for t, meta in self.catalog.items():
                if not names.get(t):
                    names[t] = market_title(meta)
            self._names = names
        return self._names

    def select_market(self, ticker: str, show_depth: bool = False) -> None:
        if ticker != self.selected:
            self.selected = ticker
            self._full.update(("depth", "trades"))
        if show_depth and self.active_tab != "depth":
            self.action_show_tab("depth")
        elif self.active_tab in ("depth", "trades"):
            self._full.discard(self.active_tab)
            self.pane(self.active_tab).refresh_view(Changes(), self.clock(), full=True)
        self._refresh_header(self.clock())

    def jump_to_market(self, ticker: str) -> None:
        group = self.group_of(ticker)
        if group is not None and group != self.current_group:
            self.show_group(group)
        if group is not None:
            self.watchlist.grid.move_cursor_to(ticker)
        self.select_market(ticker, show_depth=True)

    def action_step_market(self, step: int) -> None:
        grid = self.watchlist.grid
        keys = grid.row_keys or self.groups.get(self.current_group, [])
        if not keys:
            self.notify("This watchlist group is empty: press a to add a market.", timeout=3)
            return
        if self.selected in keys:
            i = (keys.index(self.selected) + step) % len(keys)
        else:
            i = 0 if step > 0 else len(keys) - 1
        grid.move_cursor_to(keys[i])
        self.select_market(keys[i])

    @property
    def watchlist(self) -> WatchlistPane:
        return self.query_one(WatchlistPane)

    def show_group(self, group: str) -> None:
        if group not in self.groups:
            return
        self.current_group = group
        self.watchlist.show_group(group, take_focus=self.active_tab == "watchlist")
        self._refresh_header(self.clock())

    def step_group(self, step: int) -> None:
        names = list(self.groups)
        i = (names.index(self.current_group) + step) % len(names)
        self.show_group(names[i])

    def open_add_market(self) -> None:
        self.push_screen(
            CommandPalette(
                providers=[AddMarket],
                placeholder=f"Add to {self.current_group}: a ticker, or words from a market's title…",
            )
        )

    def add_market(self, ticker: str, group: str | None = None) -> None:
        group = group or self.current_group
        tickers = self.groups.setdefault(group, [])
        if ticker in tickers:
            self.notify(f"{ticker} is already in {group}.", timeout=3)
            return
        newly_watched = ticker not in self.watched
        tickers.append(ticker)
        self._recount_watched()
        self.profile = self.profile.with_market(group, ticker)
        self._save()
        if newly_watched:
            if self.feed is not None:
                self._feed_call("add_markets", [ticker])
            if self.rest is not None and not self._has_meta(ticker):
                self.run_worker(self._fetch_meta([ticker]), exit_on_error=False)
            if self.watch_data is not None:
                self.watch_data.wake()
        if group == self.current_group:
            self._full.add("watchlist")
            if self.active_tab == "watchlist":
                self._full.discard("watchlist")
                self.watchlist.refresh_view(Changes(), self.clock(), full=True)
                self.watchlist.grid.move_cursor_to(ticker)
        self.select_market(ticker)
        self.notify(f"Added {ticker} to {group}.", timeout=3)

    def remove_market(self, ticker: str, group: str | None = None) -> None:
        group = group or self.current_group
        tickers = self.groups.get(group, [])
        if ticker not in tickers:
            return
        grid = self.watchlist.grid if group == self.current_group else None
        neighbour = None
        if grid is not None:
            keys = grid.row_keys
            i = keys.index(ticker) if ticker in keys else 0
            rest = [k for k in keys if k != ticker]
            neighbour = rest[min(i, len(rest) - 1)] if rest else None
        tickers.remove(ticker)
        self._recount_watched()
        self.profile = self.profile.without_market(group, ticker)
        self._save()
        if ticker not in self.watched:
            if self.feed is not None:
                self._feed_call("remove_markets", [ticker])
            self.store.forget(ticker)
        if grid is not None:
            self.watchlist.refresh_view(Changes(), self.clock(), full=True)
            if neighbour is not None:
                grid.move_cursor_to(neighbour)
                self.select_market(neighbour)
        self.notify(f"Removed {ticker} from {group}. (a adds it back)", timeout=3)

    def _has_meta(self, ticker: str) -> bool:
        state = self.store.markets.get(ticker)
        return bool(state and state.meta)

    def _save(self) -> None:
        if self.save_profile is not None:
            self._save_worker(self.profile)

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    def _save_worker(self, profile: Profile) -> None:
        # Atomic write off the event loop; the newest profile wins (exclusive worker).
        try:
            assert self.save_profile is not None
            self.save_profile(profile)
        except Exception as exc:
            self.call_from_thread(
                self.notify, f"Couldn't save the watchlist: {exc}", severity="error", timeout=10
            )

    def _feed_call(self, method: str, tickers: list[str]) -> None:
        async def call() -> None:
            try:
                await getattr(self.feed, method)(tickers)
            except Exception as exc:
                self.store.record_error(None, f"{method} failed: {exc}", "Couldn't change the subscription.")

        self.run_worker(call(), group="feed-commands", exit_on_error=False)

    # -- background work -------------------------------------------------------------------

    async def _run_feed(self) -> None:
        assert self.feed is not None
        try:
            await self.feed.run()  # the feed was built with the watchlist's markets
        except AuthRejected:
            # The session recorded why (the tick toasts it once, as "Sign-in failed").
            self.store.set_state(st.AUTH_FAILED)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.store.record_error(None, repr(exc)[:200], "The stream stopped unexpectedly.")
            self.store.set_state(st.DOWN)

    async def _load_metadata(self) -> None:
        assert self.rest is not None
        rest = self.rest
        if self.watched:
            await self._fetch_meta(sorted(self.watched))
        # History waits for the first prices (or a few seconds, if the stream is down): its
        # answers are big, and an exchange in this process (the demo) computes them on this loop.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_data.wait(), self.history_waits)
        watched = lambda: self.watched  # noqa: E731 - the set is replaced as groups change
        self.watch_data = WatchData(
            rest, self.store, self.view.sparks, watched, self.wall_clock, loaded=self.wake
        )
        self.run_worker(self.watch_data.run(), name="watch-data", exit_on_error=False)
        # Only search reads it: it waits behind everything on screen.
        catalog = await self._retrying(
            "the market catalogue", lambda: rest.markets(status="open", priority=BACKGROUND)
        )
        self.catalog = {meta.ticker: meta for meta in catalog}
        self._names = None

    async def _fetch_details(self, ticker: str) -> None:
        assert self.rest is not None
        try:
            found = await self.rest.market_details(ticker)
        except Exception as exc:
            self.view.details_errors[ticker] = f"Couldn't load the details: {exc}"
        else:
            self.view.details[ticker] = found
            self.view.details_errors.pop(ticker, None)
            state = self.store.markets.get(ticker)
            if state and state.meta and not state.meta.series_ticker:
                state.meta.series_ticker = found.series_ticker  # the event knows it; the market doesn't
        finally:
            self._details_pending.discard(ticker)
            self.wake()

    async def _fetch_candles(self, ask: AskCandles) -> None:
        assert self.rest is not None
        ticker, minutes = ask.ticker, ask.minutes
        try:
            meta = self.store.markets[ticker].meta if ticker in self.store.markets else None
            series = meta.series_ticker if meta else ""
            if not series and meta and meta.event_ticker:
                series = await self.rest.series_ticker(meta.event_ticker)
            if not series:  # the names are not in yet: the market's details say it
                series = (await self.rest.market_details(ticker)).series_ticker
            if not series:
                raise ValueError("the exchange names no series for this market")
            end = int(self.wall_clock())
            candles = await self.rest.candlesticks(
                series, ticker, end - ask.count * minutes * 60, end, minutes
            )
        except Exception as exc:
            self.view.charts.fail(ticker, minutes, f"Couldn't load the candles: {exc}")
        else:
            self.view.charts.put(ticker, Series(minutes, candles, self.clock(), end * 1000))
            self._fold_trades(ticker)
        finally:
            self._candles_pending.discard((ticker, minutes))
            self.wake()

    def _fold_trades(self, ticker: str) -> None:
        """The market's trades since the candles were fetched extend them live."""
        state = self.store.markets.get(ticker)
        if state is not None:
            trades = [(t.yes_price, t.count, t.ts_ms) for t in state.trades if t.ts_ms is not None]
            self.view.charts.add_trades(ticker, trades)

    async def _fetch_meta(self, tickers: list[str]) -> None:
        assert self.rest is not None
        rest = self.rest

        async def missing() -> list[MarketMeta]:
            # Only what still lacks a title: markets removed meanwhile are not asked for.
            wanted = [t for t in tickers if t in self.watched and not self._has_meta(t)]
            return await rest.markets(tickers=wanted) if wanted else []

        self.store.set_meta(await self._retrying("market names", missing))

    async def _retrying(self, what: str, call: Callable[[], Awaitable[_T]]) -> _T:
        """``call()`` until it succeeds, waiting longer each time (up to META_RETRY_CAP).

        A REST outage at start-up must not leave the dashboard without titles and status
        for the whole session. The first failure is said once; the rest go to the log.
        """
        delay = self.meta_retry_first
        said = False
        while True:
            try:
                return await call()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.warning(f"loading {what} failed: {exc!r}; retrying in {delay:.0f} s")
                if not said:
                    said = True
                    self.notify(
                        f"Couldn't load {what}: {exc}. Retrying in the background.",
                        severity="warning",
                        timeout=6,
                    )
            await asyncio.sleep(delay)
            delay = min(delay * 2, META_RETRY_CAP)

    # -- actions ---------------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        if tab in TABS:
            self.query_one("#tabs", TabbedContent).active = tab

    def action_search_markets(self) -> None:
        self.push_screen(
            CommandPalette(providers=[MarketSearch], placeholder="Jump to a market: ticker or title…")
        )

    def action_show_details(self) -> None:
        if isinstance(self.screen, DetailsScreen):
            return
        if self.selected is None:
            self.notify("Select a market first.", timeout=3)
            return
        self.push_screen(DetailsScreen(self.view))

    def action_show_chart(self) -> None:
        if isinstance(self.screen, ChartScreen):
            return
        if self.selected is None:
            self.notify("Select a market first.", timeout=3)
            return
        self.push_screen(ChartScreen(self.view))

    def action_show_keys(self) -> None:
        self.push_screen(KeysScreen(self.keymap))

    def action_new_alert(self) -> None:
        open_new_rule(self)

    def action_show_alerts(self) -> None:
        if not isinstance(self.screen, AlertsScreen):
            self.push_screen(AlertsScreen())

    def action_switch_theme(self) -> None:
        self.search_themes()

    def action_toggle_flash(self) -> None:
        self.flash_enabled = not self.flash_enabled
        if not self.flash_enabled:
            self.watchlist.grid.clear_flashes()
        self.notify(f"Price flashes {'on' if self.flash_enabled else 'off'}.", timeout=2)

    def action_help_quit(self) -> None:
        # Textual's own says "Press [b]q[/b] ...": markup, which our plain-text notify shows raw.
        keys = [key for key, active in self.active_bindings.items() if active.binding.action == "quit"]
        shown = " or ".join(self.get_key_display(self.active_bindings[k].binding) for k in keys) or "ctrl+q"
        self.notify(f"Press {shown} to quit.", title="Do you want to quit?")

    async def action_quit(self) -> None:
        await self._close_feed()
        self.exit()

    def get_driver_class(self) -> type[Driver]:
        return hangup.hangup_aware(super().get_driver_class())

    def on_terminal_hung_up(self, _message: hangup.TerminalHungUp) -> None:
        self._on_exit_signal(hangup.EXIT_HUP)

    def _on_exit_signal(self, status: int) -> None:
        """SIGTERM, SIGHUP or a hung-up terminal: close the stream, then leave with
        ``status`` (143 for TERM, 129 for HUP, as a shell would report them)."""
        if not self._leaving:
            self._leaving = True
            self.run_worker(self._close_and_exit(status), name="leave", exit_on_error=False)

    async def _close_and_exit(self, status: int) -> None:
        try:
            await self._close_feed()
        finally:
            if self._terminal_gone():
                # Nobody can see a goodbye, and Textual's restore-the-terminal writes
                # would block for ever on a queue its failed writer thread no longer drains.
                driver = self._driver
                if driver is not None:
                    driver.write = lambda _data: None  # type: ignore[method-assign]
            self.exit(return_code=status)

    def _terminal_gone(self) -> bool:
        """stdin was a terminal at start and has hung up since."""
        try:
            fd = sys.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            return False
        return self._stdin_was_tty and hangup.stdin_gone(fd)

    async def _close_feed(self) -> None:
        if self._feed_closing or self.feed is None:
            self._feed_closing = True
            return
        self._feed_closing = True
        try:
            await asyncio.wait_for(self.feed.close(), timeout=2.0)
        except Exception as exc:  # leaving anyway; say why in the log only
            self.log.warning(f"closing the stream: {exc!r}")
