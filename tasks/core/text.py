"""French formatting of what people read."""

from __future__ import annotations


def french_number(value: int) -> str:
    """1194040 -> '1 194 040' (narrow no-break space, as French typography wants)."""
    return f"{value:,}".replace(",", "\u202f")


def french_decimal(value: float, decimals: int) -> str:
    """3.14159, 1 -> '3,1' ; 1936.0, 0 -> '1 936' (narrow no-break spaces, decimal comma)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def french_date(day) -> str:
    """date(2026, 11, 29) -> '29 novembre 2026'."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
