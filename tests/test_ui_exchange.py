"""The header says when the exchange or trading is paused or maintenance is near, and the
Connection tab shows the feed audit's counts: the real app on a pre-filled store, fixed clocks."""

from __future__ import annotations

import pytest

from kalshi_tui.exchange import read_schedule, read_status
from kalshi_tui.ui.header import StatusHeader
from tests import ui_fixtures as fx
from tests.test_exchange import iso, schedule
from tests.ui_fixtures import utc  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("utc")
SIZE = (100, 30)


async def test_header_shows_paused_trading_then_clears() -> None:
    store = fx.build_store()
    app = fx.make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        header = app.query_one(StatusHeader)
        assert header.exchange_text == ""
        read_status(
            store.metrics.exchange,
            {
                "exchange_active": True,
                "trading_active": False,
                "exchange_estimated_resume_time": iso(fx.WALL + 900),
            },
        )
        app._tick()
        await pilot.pause()
        assert header.exchange_text == "TRADING PAUSED, back in 15 min"
        assert app.query_one("#hdr-exchange").has_class("-down")
        read_status(store.metrics.exchange, {"exchange_active": True, "trading_active": True})
        app._tick()
        await pilot.pause()
        assert header.exchange_text == ""


async def test_header_shows_exchange_paused() -> None:
    store = fx.build_store()
    read_status(store.metrics.exchange, {"exchange_active": False, "trading_active": False})
    app = fx.make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.query_one(StatusHeader).exchange_text == "EXCHANGE PAUSED"


async def test_header_announces_maintenance_within_30_minutes_only() -> None:
    store = fx.build_store()
    read_status(store.metrics.exchange, {"exchange_active": True, "trading_active": True})
    read_schedule(store.metrics.exchange, schedule((fx.WALL + 45 * 60, fx.WALL + 90 * 60)))
    wall = [fx.WALL]
    app = fx.make_app(store, wall_clock=lambda: wall[0])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        header = app.query_one(StatusHeader)
        assert header.exchange_text == ""  # 45 minutes away: not yet
        wall[0] = fx.WALL + 20 * 60
        app._tick()
        await pilot.pause()
        assert header.exchange_text == "maintenance in 25 min"
        assert app.query_one("#hdr-exchange").has_class("-warn")
        wall[0] = fx.WALL + 50 * 60
        app._tick()
        await pilot.pause()
        assert header.exchange_text == "MAINTENANCE, back in 40 min"


async def test_connection_tab_shows_the_feed_audit() -> None:
    store = fx.build_store()
    h = store.metrics.audit
    h.matches, h.mismatches, h.moving, h.unsynced, h.resyncs = 41, 2, 3, 1, 1
    h.last, h.last_at = "KXFED-26DEC-T4.00 resync: YES 0.0100: streamed 1.00, exchange 0.00", fx.WALL - 4
    app = fx.make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("5")
        await pilot.pause()
        text = str(app.query_one("#conn-audit").render())
        assert "41 match · 2 mismatch · 4 skipped (3 moving, 1 not synced)" in text
        assert "1 resynced" in text and "last look 4s ago" in text
