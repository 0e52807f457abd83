"""From the lines read in the documents to the rows of one SCDL subventions file."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from tasks.subventions.config import CommuneSubventions
from tasks.subventions.model import Issue, Line, Place, Reading, TotalCheck


@dataclass(frozen=True)
class Beneficiary:
    """Who a spelling of the documents designates, once grouped and identified."""

    nom: str
    siret: str | None
    rna: str | None


@dataclass(frozen=True)
class Row:
    """One row of the SCDL file, and where its subsidy was read."""

    annee: int | None
    values: dict[str, str]
    graphie: str
    place: Place


def fields(schema_path: Path) -> list[str]:
    """The columns of the standard, in its order, from the official schema itself."""
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    return [field["name"] for field in schema["fields"]]


def rows(
    readings: list[Reading],
    beneficiaries: dict[str, Beneficiary],
    commune: CommuneSubventions,
    siret_attribuant: str | None,
    columns: list[str],
) -> list[Row]:
    """One row per line, sorted by year, decision date and beneficiary."""
    built = [
        _row(line, beneficiaries[line.beneficiaire], commune, siret_attribuant, columns)
        for reading in readings
        for line in reading.lines
    ]
    return sorted(
        built,
        key=lambda r: (
            r.annee or 0,
            r.values["dateConvention"],
            r.values["nomBeneficiaire"].casefold(),
            r.values["objet"],
        ),
    )


def _row(
    line: Line,
    beneficiary: Beneficiary,
    commune: CommuneSubventions,
    siret_attribuant: str | None,
    columns: list[str],
) -> Row:
    decision = line.decision
    date = decision.date.isoformat() if decision.date else ""
    annee = decision.annee

    def default(field: str) -> str:
        # A default that needs the year is left empty when the year is unknown: the
        # validation then names the row, and the report asks for the year.
        if annee is None and "{annee}" in commune.defauts[field]:
            return ""
        return commune.default(field, annee or 0, date)

    values = {
        "nomAttribuant": commune.nom_attribuant,
        "idAttribuant": siret_attribuant or "",
        "dateConvention": date,
        "referenceDecision": decision.reference or "",
        "nomBeneficiaire": beneficiary.nom,
        "idBeneficiaire": beneficiary.siret or "",
        "rnaBeneficiaire": beneficiary.rna or "",
        "objet": line.objet or default("objet"),
        "montant": f"{line.montant:.2f}",
        "nature": default("nature"),
        "conditionsVersement": default("conditionsVersement"),
        "datesPeriodeVersement": default("datesPeriodeVersement"),
        "idRAE": default("idRAE"),
        "notificationUE": default("notificationUE"),
        "pourcentageSubvention": default("pourcentageSubvention"),
        "dispositifAide": default("dispositifAide"),
    }
    return Row(annee, {c: values.get(c, "") for c in columns}, line.beneficiaire, line.place)


def file_name(commune: CommuneSubventions, built: list[Row]) -> str:
    """The standard's convention: AAAAMMJJ_<SIREN attribuant>_<nom en minuscules>.csv,
    AAAAMMJJ being the date of the latest decision (as the mart names the published
    file), today when no decision is dated yet."""
    dates = [row.values["dateConvention"] for row in built if row.values["dateConvention"]]
    day = dt.date.fromisoformat(max(dates)) if dates else dt.date.today()
    ascii_name = (
        unicodedata.normalize("NFKD", commune.nom_attribuant).encode("ascii", "ignore").decode()
    )
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return f"{day:%Y%m%d}_{commune.siren}_{slug}.csv"


def write(path: Path, built: list[Row], columns: list[str]) -> None:
    """UTF-8, comma, decimal point, quotes only where a cell needs them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([row.values[c] for c in columns] for row in built)


def yearly_totals(built: list[Row]) -> dict[int | None, Decimal]:
    totals: dict[int | None, Decimal] = defaultdict(Decimal)
    for row in built:
        totals[row.annee] += Decimal(row.values["montant"])
    return dict(totals)


def check_totals(readings: list[Reading]) -> tuple[list[TotalCheck], list[Issue]]:
    """Each TOTAL row of the documents against the lines of its own table: the only
    comparison that holds whatever the documents' layout (a year split over several
    documents, category subtotals, a table with a year column)."""
    checks = [check for reading in readings for check in reading.checks]
    issues = [
        Issue(
            f"le total imprimé ({check.printed} €) n'est pas la somme des lignes lues "
            f"({check.read} €, {check.covers})",
            check.place,
            "une ligne a été mal lue, ou le total du document est faux : comparez les lignes "
            "de ce tableau dans le rapport (« Subventions lues ») avec le document",
        )
        for check in checks
        if not check.agrees
    ]
    return checks, issues
