"""The data rows of a subsidies CSV: frictionless reads and types each cell, and its
errors are said in French, then the schema's custom checks (SIRET key, one-of-required)
and the calendar checks of the dates and periods run on the cells as written.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frictionless import Dialect, FrictionlessException, Resource, Schema, formats

from tasks.quality.schema.problems import (
    AVERTISSEMENT,
    ERREUR,
    ISO_DATE,
    Problem,
    blank_row,
    constraint_error,
    duplicate_row,
    is_siret,
    loose_date,
    one_of_required,
    period,
    siret,
    type_error,
)

# The schema only pattern-checks these « AAAA-MM-JJ[/AAAA-MM-JJ] » cells: 2017-30-05 passes.
PERIOD_FIELDS = ("datesPeriodeVersement",)


@dataclass
class Column:
    """A column of the file and the schema field it is checked against (None: unknown)."""

    position: int  # 0-based
    label: str
    field: dict[str, Any] | None
    colonne: str | None  # name used in messages

    @property
    def name(self) -> str:  # unique name given to frictionless
        return self.field["name"] if self.field else f"__colonne_{self.position + 1}"


def check_rows(
    path: Path, encoding: str, delimiter: str, checks: RowChecks, problems: list[Problem]
) -> None:
    schema = Schema.from_descriptor({"fields": [checks.descriptor(c) for c in checks.columns]})
    control = formats.CsvControl(delimiter=delimiter)
    # A relative path under a basepath: frictionless refuses absolute paths as unsafe.
    resource = Resource(
        path=path.name,
        basepath=str(path.resolve().parent),
        format="csv",
        encoding=encoding,
        schema=schema,
        dialect=Dialect(header_rows=[1], controls=[control]),
    )
    rows = 0
    try:
        with resource:
            for row in resource.row_stream:
                rows += 1
                problems.extend(checks.problems(row))
    except (FrictionlessException, csv.Error, UnicodeDecodeError) as error:
        problems.append(
            Problem(
                None,
                None,
                "Fichier CSV illisible",
                f"lecture interrompue après {rows} lignes de données : {error}",
                "vérifiez que chaque guillemet ouvert est refermé et réexportez en CSV",
                ERREUR,
            )
        )
        return
    if rows == 0:
        problems.append(
            Problem(
                None,
                None,
                "Aucune subvention dans le fichier",
                "le fichier n'a que sa ligne d'en-tête",
                "ajoutez une ligne par bénéficiaire",
                AVERTISSEMENT,
            )
        )


@dataclass
class RowChecks:
    """Per-row checks: frictionless's cell errors in French, then the custom checks."""

    schema: dict
    columns: list[Column]
    seen: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {c.name: c for c in self.columns}
        self.fields = {f["name"]: f for f in self.schema["fields"]}
        self.sirets: list[str] = []
        self.one_of: list[tuple[str, str]] = []
        self.unsupported: list[str] = []
        for check in self.schema.get("custom_checks", []):
            params = check.get("params", {})
            if check["name"] == "french-siret-value":
                self.sirets.append(params["column"])
            elif check["name"] == "one-of-required":
                self.one_of.append((params["column1"], params["column2"]))
            else:
                self.unsupported.append(check["name"])

    def descriptor(self, column: Column) -> dict:
        return dict(column.field) if column.field else {"name": column.name, "type": "any"}

    def problems(self, row) -> list[Problem]:
        ligne = row.row_number
        found: list[Problem] = []
        short = {e.field_name for e in row.errors if e.type == "missing-cell"}
        in_error: set[str] = set(short)
        for error in row.errors:
            if error.type == "blank-row":
                return [blank_row(ligne)]
            if getattr(error, "field_name", None) in short and error.type != "missing-cell":
                continue  # a short row: one « Cellule manquante », not one problem per cell
            problem = _from_frictionless(error, self, ligne)
            if problem is not None and not any(_same_cell(problem, p) for p in found):
                found.append(problem)
                in_error.add(getattr(error, "field_name", ""))
        found += self._custom(row, ligne, in_error)
        digest = hashlib.sha256("\x1f".join(map(str, row.cells)).encode()).hexdigest()
        if digest in self.seen:
            found.append(duplicate_row(ligne, self.seen[digest]))
        self.seen.setdefault(digest, ligne)
        return found

    def _custom(self, row, ligne: int, in_error: set[str]) -> list[Problem]:
        found = []
        for name in self.sirets:
            value = self.raw(row, name)
            if name not in in_error and value and not is_siret(value):
                found.append(siret(ligne, name, value))
        for first, second in self.one_of:
            if in_error & {first, second}:
                continue
            if not self.raw(row, first) and not self.raw(row, second):
                found.append(one_of_required(ligne, first, second, self.fields))
        for name, f in self.fields.items():
            value = self.raw(row, name)
            if name in in_error or not value:
                continue
            if f.get("type") == "date" and not ISO_DATE.fullmatch(value):
                found.append(loose_date(ligne, name, value))
            if name in PERIOD_FIELDS:
                found += period(ligne, name, value)
        return found

    def raw(self, row, name: str) -> str:
        """The cell as written (blank when the column is missing or the row short)."""
        column = self.by_name.get(name)
        if column is None or column.position >= len(row.cells):
            return ""
        cell = row.cells[column.position]
        return "" if cell is None else str(cell).strip()


def _same_cell(one: Problem, other: Problem) -> bool:
    """frictionless says « missing cell » once per cell, « extra cell » once per extra
    cell: a row gets one of each."""
    once_per_row = one.titre in ("Cellule manquante", "Cellule en trop")
    return one.titre == other.titre and (one.colonne == other.colonne or once_per_row)


def _from_frictionless(error, checks: RowChecks, ligne: int) -> Problem | None:
    column = checks.by_name.get(getattr(error, "field_name", "") or "")
    colonne = column.colonne if column else None
    f = column.field if column else None
    cell = str(getattr(error, "cell", "") or "")
    if error.type == "extra-cell":
        return Problem(
            ligne,
            None,
            "Cellule en trop",
            f"la ligne a plus de cellules que l'en-tête (en trop : « {cell} »)",
            "entourez de guillemets tout texte contenant une virgule, ou supprimez la cellule",
            ERREUR,
        )
    if error.type == "missing-cell":
        return Problem(
            ligne,
            colonne,
            "Cellule manquante",
            "la ligne a moins de cellules que l'en-tête",
            f"complétez la ligne à partir de la colonne {colonne} (une virgule par cellule, "
            "même vide) et vérifiez qu'aucun guillemet n'est resté ouvert",
            ERREUR,
        )
    if f is not None and error.type == "type-error":
        return type_error(ligne, colonne, f, cell)
    if f is not None and error.type == "constraint-error":
        match = re.search(r'constraint "(\w+)"', error.note)
        constraint = match.group(1) if match else ""
        if constraint == "pattern" and colonne in checks.sirets:
            return None  # said better by the SIRET check
        return constraint_error(ligne, colonne, f, cell, constraint)
    return Problem(
        ligne, colonne, "Valeur non conforme", error.message, "corrigez la valeur", ERREUR
    )
