"""Command-palette providers: jump to a market, add a market, switch watchlist group.

Matching is fuzzy over "TICKER title" from the metadata the app has (the store's markets
plus the exchange's open-market catalogue when REST is available).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

MAX_HITS = 40  # the palette shows a screenful; scoring thousands more is wasted work


class PaletteHost(Protocol):
    """What the palette needs from the app (``KalshiApp``): its groups, market names, and the
    actions a hit runs. A protocol, so this module does not import the app that imports it."""

    @property
    def groups(self) -> dict[str, list[str]]: ...
    @property
    def current_group(self) -> str: ...
    @property
    def flash_enabled(self) -> bool: ...
    def market_names(self) -> dict[str, str]: ...
    def group_of(self, ticker: str) -> str | None: ...
    def jump_to_market(self, ticker: str) -> None: ...
    def add_market(self, ticker: str, group: str | None = None) -> None: ...
    def show_group(self, group: str) -> None: ...
    def open_add_market(self) -> None: ...
    def action_show_tab(self, tab: str) -> None: ...
    def action_toggle_flash(self) -> None: ...
    def action_show_keys(self) -> None: ...


def _chars_present(query: str, text: str) -> bool:
    # Cheap pre-filter before the (slower) fuzzy matcher: every query letter must occur.
    return all(ch in text for ch in query)


class _MarketProvider(Provider):
    @property
    def host(self) -> PaletteHost:
        return cast(PaletteHost, self.app)

    def _candidates(self) -> Iterable[tuple[str, str]]:
        return self.host.market_names().items()

    def _scored(self, query: str) -> list[tuple[float, str, str]]:
        matcher = self.matcher(query)
        q = query.lower()
        hits: list[tuple[float, str, str]] = []
        for ticker, title in self._candidates():
            text = f"{ticker}  {title}" if title else ticker
            if not _chars_present(q, text.lower()):
                continue
            score = matcher.match(text)
            if score > 0:
                hits.append((score, ticker, text))
        hits.sort(key=lambda h: -h[0])
        return hits[:MAX_HITS]


class MarketSearch(_MarketProvider):
    """Jump to a market: select it and show its depth."""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.host
        for score, ticker, text in self._scored(query):
            where = app.group_of(ticker)
            yield Hit(
                score,
                matcher.highlight(text),
                partial(app.jump_to_market, ticker),
                text=text,
                help=f"in {where}" if where else "not in a watchlist: opens depth",
            )

    async def discover(self) -> Hits:
        app = self.host
        for ticker in app.groups.get(app.current_group, []):
            title = app.market_names().get(ticker, "")
            yield DiscoveryHit(
                f"{ticker}  {title}".rstrip(),
                partial(app.jump_to_market, ticker),
                help=f"in {app.current_group}",
            )


class AddMarket(_MarketProvider):
    """Add a market to the current watchlist group."""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.host
        group = app.current_group
        present = set(app.groups.get(group, []))
        exact = query.strip().upper()
        known = False
        for score, ticker, text in self._scored(query):
            if ticker in present:
                continue
            known = known or ticker == exact
            yield Hit(
                score,
                matcher.highlight(text),
                partial(app.add_market, ticker),
                text=text,
                help=f"add to {group}",
            )
        if exact and not known and " " not in exact and exact not in present:
            # A ticker the app has no metadata for yet: let the exchange decide.
            yield Hit(
                0.01,
                f"{exact}  (add as typed)",
                partial(app.add_market, exact),
                text=exact,
                help=f"add to {group}; names load from the exchange",
            )

    async def discover(self) -> Hits:
        app = self.host
        present = set(app.groups.get(app.current_group, []))
        for n, (ticker, title) in enumerate(app.market_names().items()):
            if n >= MAX_HITS:
                break
            if ticker not in present:
                yield DiscoveryHit(
                    f"{ticker}  {title}".rstrip(),
                    partial(app.add_market, ticker),
                    help=f"add to {app.current_group}",
                )


class AppCommands(Provider):
    """Dashboard actions in the palette: groups, tabs, flash, keys."""

    def _commands(self) -> list[tuple[str, object, str]]:
        app = cast(PaletteHost, self.app)
        out: list[tuple[str, object, str]] = []
        for group in app.groups:
            out.append(
                (
                    f"Watchlist group: {group}",
                    partial(app.show_group, group),
                    f"{len(app.groups[group])} markets",
                )
            )
        for tab in ("watchlist", "depth", "trades", "fills", "connection"):
            out.append((f"Show tab: {tab.title()}", partial(app.action_show_tab, tab), ""))
        out.append(("Add a market to this group", app.open_add_market, "a"))
        out.append(
            (
                "Toggle price flashes",
                app.action_toggle_flash,
                "flashes on" if app.flash_enabled else "flashes off",
            )
        )
        out.append(("Show keys", app.action_show_keys, "every binding and its id"))
        return out

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    callback,  # type: ignore[arg-type]
                    text=name,
                    help=help_text,
                )

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)  # type: ignore[arg-type]
