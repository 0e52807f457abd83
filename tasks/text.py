"""French formatting of what people read."""

from __future__ import annotations


def french_number(value: int) -> str:
    """1194040 -> '1 194 040' (narrow no-break space, as French typography wants)."""
    return f"{value:,}".replace(",", "\u202f")
