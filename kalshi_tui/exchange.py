"""The exchange's own state, as pure code: ``/exchange/status`` and ``/exchange/schedule``
read into one record, and the few words the header shows about it (paused, or a
maintenance window starting within ``SOON``). Time comes in as an argument (epoch seconds).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

SOON = 30 * 60.0  # s: a maintenance window starting within this is announced
POLL_EVERY = 60.0  # s between two reads of status and schedule


@dataclass(slots=True)
class ExchangeState:
    """What the exchange last said about itself; None = not known (yet)."""

    exchange_active: bool | None = None
    trading_active: bool | None = None
    resume_at: float | None = None  # epoch s, when trading is expected back
    maintenance: tuple[tuple[float, float], ...] = ()  # (start, end) epoch s


def _epoch(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def read_status(state: ExchangeState, body: dict[str, Any]) -> None:
    """Fold ``/exchange/status`` into ``state`` (a field it doesn't hold stays unknown)."""
    active, trading = body.get("exchange_active"), body.get("trading_active")
    state.exchange_active = active if isinstance(active, bool) else None
    state.trading_active = trading if isinstance(trading, bool) else None
    state.resume_at = _epoch(body.get("exchange_estimated_resume_time"))


def read_schedule(state: ExchangeState, body: dict[str, Any]) -> None:
    """Fold ``/exchange/schedule``'s maintenance windows into ``state``; unreadable ones are dropped."""
    schedule = body.get("schedule")
    raw = schedule.get("maintenance_windows") if isinstance(schedule, dict) else None
    windows = []
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, dict):
            continue
        start, end = _epoch(item.get("start_datetime")), _epoch(item.get("end_datetime"))
        if start is not None and end is not None and end > start:
            windows.append((start, end))
    state.maintenance = tuple(sorted(windows))


def _span(seconds: float) -> str:
    """A short, whole-minute span: '45 s', '12 min', '2 h 05 min'."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    minutes = -(-s // 60)  # up: "in 1 min" until it starts, never "in 0 min"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def notice(state: ExchangeState, now: float, soon: float = SOON) -> tuple[str, str]:
    """The header's words about the exchange, and how loud (``"-down"`` paused, ``"-warn"``
    maintenance soon); ("", "") when there is nothing to say."""
    window = next(((a, b) for a, b in state.maintenance if a <= now < b), None)
    what, back = "", state.resume_at
    if window is not None:
        what, back = "MAINTENANCE", window[1]
    elif state.exchange_active is False:
        what = "EXCHANGE PAUSED"
    elif state.trading_active is False:
        what = "TRADING PAUSED"
    if what:
        return (f"{what}, back in {_span(back - now)}" if back and back > now else what), "-down"
    start = next((a for a, _ in state.maintenance if now <= a <= now + soon), None)
    if start is not None:
        return f"maintenance in {_span(start - now)}", "-warn"
    return "", ""
