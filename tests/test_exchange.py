"""The exchange's status and schedule, read into one record, and the header's words about it."""

from __future__ import annotations

import datetime as dt

from kalshi_tui.exchange import ExchangeState, notice, read_schedule, read_status

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC).timestamp()


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule(*windows: tuple[float, float]) -> dict[str, object]:
    return {
        "schedule": {
            "standard_hours": [],
            "maintenance_windows": [{"start_datetime": iso(a), "end_datetime": iso(b)} for a, b in windows],
        }
    }


def test_open_exchange_says_nothing() -> None:
    state = ExchangeState()
    read_status(state, {"exchange_active": True, "trading_active": True})
    assert notice(state, NOW) == ("", "")
    assert notice(ExchangeState(), NOW) == ("", "")  # not known yet: nothing either


def test_trading_paused_with_and_without_a_resume_time() -> None:
    state = ExchangeState()
    read_status(state, {"exchange_active": True, "trading_active": False})
    assert notice(state, NOW) == ("TRADING PAUSED", "-down")
    read_status(
        state,
        {"exchange_active": True, "trading_active": False, "exchange_estimated_resume_time": iso(NOW + 600)},
    )
    assert notice(state, NOW) == ("TRADING PAUSED, back in 10 min", "-down")


def test_exchange_paused_outranks_trading() -> None:
    state = ExchangeState()
    read_status(state, {"exchange_active": False, "trading_active": False})
    assert notice(state, NOW) == ("EXCHANGE PAUSED", "-down")


def test_maintenance_within_30_minutes_is_announced_not_before() -> None:
    state = ExchangeState(exchange_active=True, trading_active=True)
    read_schedule(state, schedule((NOW + 31 * 60, NOW + 40 * 60)))
    assert notice(state, NOW) == ("", "")
    read_schedule(state, schedule((NOW + 12 * 60, NOW + 40 * 60)))
    assert notice(state, NOW) == ("maintenance in 12 min", "-warn")
    assert notice(state, NOW + 12 * 60 - 30) == ("maintenance in 30 s", "-warn")
    # Under way: the exchange is down until the window ends.
    assert notice(state, NOW + 20 * 60) == ("MAINTENANCE, back in 20 min", "-down")
    assert notice(state, NOW + 41 * 60) == ("", "")


def test_unreadable_parts_are_dropped_not_fatal() -> None:
    state = ExchangeState()
    read_status(state, {"exchange_active": "yes"})
    assert state.exchange_active is None and state.trading_active is None
    read_schedule(state, {"schedule": {"maintenance_windows": [{"start_datetime": "soon"}, 3]}})
    assert state.maintenance == ()
    read_schedule(state, {"schedule": None})
    assert state.maintenance == ()
