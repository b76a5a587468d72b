"""The Connection tab's REST block: how the one REST budget is doing."""

from __future__ import annotations

import time

from rich.text import Text

from kalshi_tui.budget import RestHealth


def rest_text(h: RestHealth, now: float) -> Text:
    """Two lines: the budget (requests in the last minute against the limit, queue, 429s),
    then the cache and the last error. ``now``: the REST client's (monotonic) clock."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{'REST':<12}", style="dim")
    text.append(f"{h.per_minute(now)} req/min", style="bold")
    text.append(f" · limit {h.limit:g}/s · {h.queued} waiting · ")
    text.append(f"429s {h.rate_limited}", style="bold" if h.rate_limited else "")
    if h.last_wait is not None:
        text.append(f" (waited {h.last_wait:g} s)")
    text.append(f"\n{'':<12}cache {h.cache_hits} hits, {h.cache_misses} misses · ")
    if h.last_error:
        at = time.strftime("%H:%M:%S", time.localtime(h.last_error_at)) if h.last_error_at else ""
        text.append(f"last error {at} ", style="dim")
        text.append(h.last_error)
    else:
        text.append("no errors", style="dim")
    return text
