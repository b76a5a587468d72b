"""Write an SVG screenshot of each tab to docs/screenshots (``python -m tests.ui_fixtures.screenshots``).

Same deterministic store and clock as the snapshot tests, at 100x30, in UTC.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from bench.waiting import until
from tests import ui_fixtures as fx

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = [
    ("watchlist", "1"),
    ("depth", "2"),
    ("trades", "3"),
    ("fills", "4"),
    ("connection", "5"),
    ("portfolio", "6"),
]


async def main() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    OUT.mkdir(parents=True, exist_ok=True)
    app = fx.make_app(account=fx.FixedAccount(), rest=fx.FakeRest())
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.view.account.refreshes > 0, "the account fetched", pilot=pilot)
        for name, key in SHOTS:
            await pilot.press(key)
            await pilot.pause()
            await pilot.wait_for_scheduled_animations()
            app.save_screenshot(f"{name}.svg", str(OUT))
            print(OUT / f"{name}.svg")
        # The details screen (i) of the NYC weather market, its REST answers from the fixtures.
        await pilot.press("1")
        app.select_market(fx.WEATHER_MARKET)
        await pilot.press("i")
        await until(lambda: fx.WEATHER_MARKET in fx.TITLES and app.view.details, "the details", pilot=pilot)
        await pilot.pause(0.3)
        app.save_screenshot("details.svg", str(OUT))
        print(OUT / "details.svg")
        # The price chart (c) of the same market, 1h candles from the fixture REST.
        await pilot.press("escape", "c")
        await until(
            lambda: app.view.charts.get(fx.WEATHER_MARKET, 60) is not None, "the candles", pilot=pilot
        )
        await pilot.pause(0.3)
        app.save_screenshot("chart.svg", str(OUT))
        print(OUT / "chart.svg")


if __name__ == "__main__":
    asyncio.run(main())
