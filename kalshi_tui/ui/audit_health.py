"""The Connection tab's feed-audit block: streamed books compared with the exchange's REST books."""

from __future__ import annotations

from rich.text import Text

from kalshi_tui.audit import AuditHealth
from kalshi_tui.ui.cells import age_text


def audit_text(h: AuditHealth, wall_now: float) -> Text:
    """Two lines: the counts (matches, mismatches, skipped and why, failed, resyncs), then the
    last look and how long ago it was. ``wall_now``: epoch seconds, as ``last_at``."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{'Feed audit':<12}", style="dim")
    if not h.looks:
        text.append("no look yet", style="dim")
        text.append(f"\n{'':<12}")
        text.append("each watched book is compared with the exchange's now and then", style="dim")
        return text
    text.append(f"{h.matches} match", style="bold")
    text.append(" · ")
    text.append(f"{h.mismatches} mismatch", style="bold" if h.mismatches else "")
    text.append(f" · {h.skipped} skipped ({h.moving} moving, {h.unsynced} not synced)")
    text.append(f" · {h.failed} failed · ")
    text.append(f"{h.resyncs} resynced", style="bold" if h.resyncs else "")
    text.append(f"\n{'':<12}")
    if h.last_at is not None:
        text.append(f"last look {age_text(wall_now - h.last_at)} ago: ", style="dim")
    text.append(h.last)
    if h.suspects:
        text.append(f" · looking again at {', '.join(sorted(h.suspects))}", style="dim")
    return text
