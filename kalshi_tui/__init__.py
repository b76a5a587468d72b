"""kalshi-tui: a terminal dashboard for Kalshi's live markets."""

__version__ = "0.1.0"
