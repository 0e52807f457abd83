"""What the subsidy modules hand to each other: a line read from a document, where it
was read, and what a person must look at (a problem, a question)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path


@dataclass(frozen=True)
class Place:
    """Where something was read, for a person: « 2019.docx, tableau 2, ligne 7 »."""

    fichier: str
    tableau: int | None = None  # 1-based, in reading order (nested tables included)
    ligne: int | None = None  # 1-based row of that table, as the document shows it

    def __str__(self) -> str:
        parts = [self.fichier]
        if self.tableau is not None:
            parts.append(f"tableau {self.tableau}")
        if self.ligne is not None:
            parts.append(f"ligne {self.ligne}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Decision:
    """The decision a table of subsidies comes from, as far as the document says it."""

    annee: int | None = None
    date: dt.date | None = None  # date of the délibération (dateConvention)
    reference: str | None = None  # e.g. « Délibération n° 2019-12 »


@dataclass(frozen=True)
class Line:
    """One subsidy, as typed in the document (name untouched, amount parsed)."""

    place: Place
    beneficiaire: str
    montant: Decimal
    objet: str | None = None
    decision: Decision = field(default_factory=Decision)


@dataclass(frozen=True)
class Issue:
    """Something a person must fix or answer, in French: what, where, what to do."""

    what: str
    place: Place | None = None
    action: str | None = None

    def __str__(self) -> str:
        text = self.what if self.place is None else f"{self.what} ({self.place})"
        return f"{text} : {self.action}" if self.action else text


@dataclass(frozen=True)
class TotalCheck:
    """A TOTAL row of a document against the lines read in its table."""

    place: Place  # the TOTAL row
    printed: Decimal  # as the document prints it
    read: Decimal  # the sum of the lines it covers, as read
    covers: str  # what was added up, for a person: « tableau 2 et tableau imbriqué 3 »

    @property
    def agrees(self) -> bool:
        return self.printed == self.read


@dataclass
class Reading:
    """Everything read from one document."""

    path: Path
    lines: list[Line] = field(default_factory=list)
    # The totals the document prints itself (its TOTAL rows), per decision year
    # (None when the year is unknown), for the report.
    totals: dict[int | None, Decimal] = field(default_factory=dict)
    # Each TOTAL row against the lines of its own table: a disagreement blocks.
    checks: list[TotalCheck] = field(default_factory=list)
    skipped: list[tuple[Place, str]] = field(default_factory=list)  # row, why (French)
    issues: list[Issue] = field(default_factory=list)  # unreadable amounts, unknown year…
