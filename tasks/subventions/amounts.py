"""Amounts as people type them in a town hall's tables: « 1 500,00 € », « 1.200,50 »,
« 300,- », « 1 500 euros »… read exactly (Decimal, never float)."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

CENT = Decimal("0.01")
# What a person writes in an amount cell to say « nothing was granted ».
EMPTY_WORDS = {"", "neant", "-", "–", "—", "/", "nc", "n/a"}
_CURRENCY = re.compile(r"€|\beuros?\b|\beur\b", re.IGNORECASE)
# « 300,- » is the cheque-writing way of saying « 300 euros, no cents ».
_NO_CENTS = re.compile(r"[.,]\s*[-–—]+$")
_NEGATIVE = re.compile(r"^(?:[-−–]\s*\d|\(.*\)$)")
# Grouped thousands with one separator kind (space, dot, comma or apostrophe), then an
# optional decimal part of one or two digits with the other separator.
_GROUPED = re.compile(
    r"^(?P<int>\d{1,3}(?P<sep>[ .,'’])\d{3}(?:(?P=sep)\d{3})*)(?:(?P<dec>[.,])(?P<frac>\d{1,2}))?$"
)
_PLAIN = re.compile(r"^(?P<int>\d+)(?:[.,](?P<frac>\d{1,2}))?$")


def parse_amount(text: str) -> Decimal | None:
    """The amount written in `text`, to the cent; None when the cell says « nothing ».

    Raises ValueError (French message) for text that is not an amount or is negative."""
    compact = _normalise(text)
    if _without_accents(compact).lower() in EMPTY_WORDS:
        return None
    if _NEGATIVE.match(compact):
        raise ValueError(f"montant négatif « {text.strip()} » : une subvention est positive")
    number = _NO_CENTS.sub("", _CURRENCY.sub("", compact)).strip()
    if not number:
        return None  # « € » alone: the currency of a separate column, no amount typed
    value = _read_number(number)
    if value is None:
        raise ValueError(f"montant illisible « {text.strip()} »")
    return value.quantize(CENT)


def _normalise(text: str) -> str:
    # Word and LibreOffice type U+00A0 / U+202F / U+2009 as thousands separators.
    return re.sub(r"\s+", " ", text).strip()


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _read_number(number: str) -> Decimal | None:
    grouped = _GROUPED.match(number)
    if grouped and grouped["sep"] != grouped["dec"]:
        # A dot (or comma) followed by exactly three digits separates thousands: a
        # subsidy is never given in tenths of a cent.
        digits = re.sub(r"\D", "", grouped["int"])
        return Decimal(f"{digits}.{grouped['frac'] or '0'}")
    plain = _PLAIN.match(number)
    if plain:
        return Decimal(f"{plain['int']}.{plain['frac'] or '0'}")
    return None


def looks_like_amount(text: str) -> bool:
    """A cell that reads as a positive amount and says so: a currency or cents."""
    try:
        value = parse_amount(text)
    except ValueError:
        return False
    return bool(value) and bool(_CURRENCY.search(text) or re.search(r"\d,\d", text))


def holds_amounts(columns: list[list[str]]) -> bool:
    """Whether cells, given column by column, look like subsidies rather than a
    letterhead or a signature (« 12 rue de la Mairie », « le 3 mars 2019 »)."""
    for cells in columns:
        if any(looks_like_amount(cell) for cell in cells):
            return True
        if sum(1 for cell in cells if _number(cell) >= 10) >= 2:
            return True
    return False


def _number(text: str) -> Decimal:
    try:
        return parse_amount(text) or Decimal(0)
    except ValueError:
        return Decimal(0)
