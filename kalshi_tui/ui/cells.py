"""Text for table cells: ages, money, times, sides. Plain functions, no widgets.

Each returns a short string; the style to paint it with is chosen by the pane.
"""

from __future__ import annotations

import math
import re
import time
from decimal import Decimal

from kalshi_tui.numbers import MONEY_PLACES, MONEY_SCALE, format_cents, format_contracts
from kalshi_tui.store import MarketMeta

DASH = "—"


def market_title(meta: MarketMeta | None) -> str:
    """An event's title alone doesn't say which market it is: add the subtitle."""
    if meta is None:
        return ""
    if meta.subtitle and meta.subtitle not in meta.title:
        return f"{meta.title} · {meta.subtitle}" if meta.title else meta.subtitle
    return meta.title


def age_text(seconds: float | None) -> str:
    """Coarse on purpose: a row repaints only when this string changes, so a live market
    reads "<1s" all day, and a quiet one changes every 10 s, then every minute, not every
    second (over SSH, each change is bytes)."""
    if seconds is None:
        return DASH
    if seconds < 1:
        return "<1s"
    if seconds < 10:
        return f"{int(seconds)}s"
    if seconds < 60:
        return f"{int(seconds) // 10 * 10}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def age_text_lasts(seconds: float | None) -> float:
    """Seconds until ``age_text`` of a growing age changes (inf when it never does)."""
    if seconds is None:
        return math.inf
    unit = _age_unit(seconds)
    return (seconds // unit + 1) * unit - seconds


def _age_unit(seconds: float) -> int:
    """The step ``age_text`` moves in at this age."""
    for limit, unit in ((10, 1), (60, 10), (3600, 60), (86400, 3600)):
        if seconds < limit:
            return unit
    return 86400


def closes_in(seconds: float | None) -> str:
    """Time left to trade: whole minutes ("2h13m", "45m", "3d04h"), seconds only in the last
    minute ("59s"), so a row repaints once a minute until then."""
    if seconds is None:
        return DASH
    if seconds <= 0:
        return "closed"
    s = math.ceil(seconds)
    if s < 60:
        return f"{s}s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 1440:
        return f"{minutes // 60}h{minutes % 60:02d}m"
    return f"{minutes // 1440}d{minutes % 1440 // 60:02d}h"


def closes_in_lasts(seconds: float | None) -> float:
    """Seconds until ``closes_in`` of a shrinking time left changes (inf once closed)."""
    if seconds is None or seconds <= 0:
        return math.inf
    s = math.ceil(seconds)
    unit = 1 if s < 60 else 60 if s < 1440 * 60 else 3600
    # The text moves when ceil(seconds) drops below the current step's start.
    return seconds - (s // unit * unit - 1)


_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")


def natural_key(text: str) -> tuple[str | Decimal, ...]:
    """Numbers in a ticker sort by value: T99499.99 before T100499.99 (text parts alternate
    with numbers, so two keys always compare like with like)."""
    parts = _NUMBER.split(text)
    return tuple(Decimal(p) if i % 2 else p for i, p in enumerate(parts))


def duration_text(seconds: float) -> str:
    """Uptime: 42s, 5m03s, 2h04m, 3d02h."""
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def cents(value: int | None) -> str:
    return DASH if value is None else format_cents(value)


def signed_cents(value: int | None) -> str:
    if value is None:
        return DASH
    if value == 0:
        return "0¢"
    return ("+" if value > 0 else "") + format_cents(value)


def contracts(value: int | None) -> str:
    return DASH if value is None else format_contracts(value)


def dollars(value: int | None) -> str:
    """Money in 1/1,000,000 dollar: "$1.25", "$0.0175", "$0.012345" (sub-cent digits kept,
    never rounded)."""
    if value is None:
        return DASH
    whole, frac = divmod(abs(value), MONEY_SCALE)
    sign = "-" if value < 0 else ""
    digits = f"{frac:0{MONEY_PLACES}d}"
    digits = digits[:2] + digits[2:].rstrip("0")
    return f"{sign}${whole:,}.{digits}"


def count_text(value: float) -> str:
    """Rates for people: 950, 12.3k, 4.1M."""
    if value < 1000:
        return f"{value:.0f}"
    if value < 1_000_000:
        return f"{value / 1000:.1f}k"
    return f"{value / 1_000_000:.1f}M"


def bytes_text(value: float) -> str:
    if value < 1024:
        return f"{value:.0f} B"
    if value < 1024 * 1024:
        return f"{value / 1024:.1f} KiB"
    return f"{value / (1024 * 1024):.1f} MiB"


def clock_text(ts_ms: int | None) -> str:
    """A message's exchange timestamp as local wall time HH:MM:SS."""
    if ts_ms is None:
        return DASH
    return time.strftime("%H:%M:%S", time.localtime(ts_ms / 1000))


def side_text(side: str) -> str:
    return side.upper() if side else DASH
