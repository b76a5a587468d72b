"""Tab switching, for every tab the app has: nothing left behind, no key lost.

The tabs and their keys are read from the running app (its TabPanes and the bindings that
show them), so a tab added later is covered without touching this file.
"""

from __future__ import annotations

import gc
import random
import re

import pytest
from textual import events
from textual.message import Message
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from bench.waiting import until
from kalshi_tui.ui.app import KalshiApp
from tests import ui_fixtures as fx
from tests.ui_fixtures import utc  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("utc")
SIZE = (100, 30)


def tab_keys(app: KalshiApp) -> dict[str, str]:
    """Tab id -> the key that shows it, from the app's panes and live bindings."""
    shows = {}
    for key, active in app.screen.active_bindings.items():
        found = re.fullmatch(r"show_tab\('([^']+)'\)", active.binding.action)
        if found:
            shows.setdefault(found.group(1), key)
    tabs = [pane.id for pane in app.query(TabPane)]
    assert tabs and all(tab in shows for tab in tabs), f"every tab needs a key: {tabs} vs {shows}"
    return {tab: shows[tab] for tab in tabs if tab}


def press(app: KalshiApp, key: str) -> None:
    """A key as the terminal driver delivers it: posted to the app, not awaited."""
    # From the app (as Pilot's keys are), whatever widget's handler is running now: a key
    # "sent" by a widget would stop bubbling at that widget's parent.
    app.post_message(events.Key(key, key if len(key) == 1 else None).set_sender(app))


async def show(app: KalshiApp, tab: str, key: str) -> None:
    press(app, key)
    await until(lambda: app.active_tab == tab and app.focused is not None, f"tab {tab} shown")


def in_pane(app: KalshiApp, tab: str) -> bool:
    """The focused widget is inside ``tab``'s pane."""
    focused = app.focused
    return focused is not None and any(node.id == tab for node in focused.ancestors_with_self)


def live_widgets() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Widget))


async def test_switching_tabs_leaves_nothing_behind() -> None:
    app = fx.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        keys = tab_keys(app)
        rounds = 3

        async def cycle() -> None:
            for tab, key in [*keys.items(), *reversed(keys.items())]:
                await show(app, tab, key)
                await pilot.pause()  # let the footer rebuild for the new focus

        for _ in range(3):  # warm-up: every tab drawn, Textual's (bounded) caches filled
            await cycle()
        widgets, objects = live_widgets(), len(gc.get_objects())
        for _ in range(rounds):
            await cycle()
        switches = rounds * 2 * len(keys)
        assert live_widgets() == widgets, "removed widgets are still referenced"
        grown = len(gc.get_objects()) - objects  # (after the collection live_widgets ran)
        # Textual's bounded caches still take a few objects a switch; the leaking footer
        # took ~2,600 (~500 after its watchers were pruned).
        assert grown < 100 * switches, f"{grown} objects more after {switches} switches"


async def test_fast_tab_keys_are_never_lost() -> None:
    activated: list[str] = []
    seen: set[int] = set()

    def hook(message: Message) -> None:
        # The hook sees a message at every widget it bubbles through: count it once.
        if isinstance(message, TabbedContent.TabActivated) and id(message) not in seen:
            seen.add(id(message))
            activated.append(message.pane.id or "")

    app = fx.make_app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await pilot.pause()
        keys = tab_keys(app)
        rnd = random.Random(11)
        tabs = list(keys)
        for burst in range(25):
            # A burst typed faster than a frame: every key is queued before any is handled.
            sequence = [rnd.choice(tabs) for _ in range(rnd.randint(2, 8))]
            before = app.active_tab
            activated.clear()
            seen.clear()
            for tab in sequence:
                press(app, keys[tab])
            await until(lambda s=sequence: app.active_tab == s[-1], f"burst {burst} ends on {sequence[-1]}")
            await pilot.pause()
            # Each key that changes the tab switches it, in order: none skipped.
            wanted = []
            last = before
            for tab in sequence:
                if tab != last:
                    wanted.append(tab)
                    last = tab
            assert activated == wanted, f"burst {burst}: keys {sequence}"
        assert app.active_tab == sequence[-1]


async def test_a_tab_switch_while_focus_is_landing_is_kept() -> None:
    """Showing a tab gives its table the keyboard a moment later. A tab key handled in
    that moment (seen in a terminal as "5 right after Fills drew" doing nothing) must win:
    the focus landing in the old pane must not switch back to it."""
    app = fx.make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        keys = tab_keys(app)
        tabs = list(keys)
        for shown, following in zip(tabs, tabs[1:] + tabs[:1], strict=True):
            await show(app, shown, keys[shown])
            await pilot.pause()
            app.screen.set_focus(None)  # as when the key comes before the new tab took focus
            app._focus_active()  # the focus the app gives a shown tab, still in flight...
            app.action_show_tab(following)  # ...when the next tab key's action runs
            await until(lambda: app.focused is not None, "the keyboard given to a pane")
            for _ in range(5):  # no late focus message takes the tab back
                await pilot.pause()
            assert app.active_tab == following, f"{keys[following]} pressed as {shown} took focus was lost"
            await until(lambda f=following: in_pane(app, f), f"the keyboard in {following}")
