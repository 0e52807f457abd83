"""The data rows of a subsidies CSV: frictionless reads and types each cell, and its
errors are said in French, then the schema's custom checks (SIRET key, one-of-required)
and the calendar checks of the dates and periods run on the cells as written. The rows
are streamed: only a digest of each is kept, for the duplicates (duplicates.py).
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frictionless import Dialect, FrictionlessException, Resource, Schema, formats

from tasks.quality.schema.duplicates import RowDigests
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
    rows, start = 0, len(problems)  # the problems before are the file's and the header's
    unreadable = None
    try:
        with resource:
            for row in resource.row_stream:
                rows += 1
                problems.extend(checks.problems(row))
    except (FrictionlessException, csv.Error, UnicodeDecodeError) as error:
        unreadable = Problem(
            None,
            None,
            "Fichier CSV illisible",
            f"lecture interrompue après {rows} lignes de données : {error}",
            "vérifiez que chaque guillemet ouvert est refermé et réexportez en CSV",
            ERREUR,
        )
    problems[start:] = with_duplicates(problems[start:], checks.digests.duplicates())
    if unreadable is not None:
        problems.append(unreadable)
    elif rows == 0:
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


def with_duplicates(found: list[Problem], duplicates: list[tuple[int, int]]) -> list[Problem]:
    """The problems of the rows, in reading order, with « Ligne en double » last of its
    row: `duplicates` are known only at the end of the file."""
    merged: list[Problem] = []
    pending = iter(duplicates)
    duplicate = next(pending, None)
    for problem in found:
        while duplicate is not None and duplicate[0] < problem.ligne:
            merged.append(duplicate_row(*duplicate))
            duplicate = next(pending, None)
        merged.append(problem)
    while duplicate is not None:
        merged.append(duplicate_row(*duplicate))
        duplicate = next(pending, None)
    return merged


@dataclass
class RowChecks:
    """Per-row checks: frictionless's cell errors in French, then the custom checks.

    The positions of the checked cells are found once: a row is a plain list of cells,
    and a row without any problem costs a few lookups (most rows of a real file)."""

    schema: dict
    columns: list[Column]
    digests: RowDigests = field(default_factory=RowDigests)

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
        self._siret_cells = [(name, self._position(name)) for name in self.sirets]
        self._one_of_cells = [
            (first, second, self._position(first), self._position(second))
            for first, second in self.one_of
        ]
        # In schema order, only the fields a calendar check applies to.
        self._date_cells = [
            (name, self._position(name), f.get("type") == "date", name in PERIOD_FIELDS)
            for name, f in self.fields.items()
            if f.get("type") == "date" or name in PERIOD_FIELDS
        ]

    def _position(self, name: str) -> int:
        """Where the field's cell is in a row; past any row when the column is missing."""
        column = self.by_name.get(name)
        return column.position if column is not None else sys.maxsize

    def descriptor(self, column: Column) -> dict:
        return dict(column.field) if column.field else {"name": column.name, "type": "any"}

    def problems(self, row) -> list[Problem]:
        errors = row.errors
        cells = row.cells
        ligne = row.row_number
        if errors:
            found, in_error = self._frictionless(errors, ligne)
            if found is None:
                return [blank_row(ligne)]
        else:
            found, in_error = [], set()
        self._custom(cells, ligne, in_error, found)
        self.digests.add(cells, ligne)
        return found

    def _frictionless(self, errors, ligne: int) -> tuple[list[Problem] | None, set[str]]:
        """frictionless's errors of the row in French (None: a blank row), and the cells
        they are about, which the custom checks leave alone."""
        found: list[Problem] = []
        short = {e.field_name for e in errors if e.type == "missing-cell"}
        in_error: set[str] = set(short)
        for error in errors:
            if error.type == "blank-row":
                return None, in_error
            if getattr(error, "field_name", None) in short and error.type != "missing-cell":
                continue  # a short row: one « Cellule manquante », not one problem per cell
            problem = _from_frictionless(error, self, ligne)
            if problem is not None and not any(_same_cell(problem, p) for p in found):
                found.append(problem)
                in_error.add(getattr(error, "field_name", ""))
        return found, in_error

    def _custom(self, cells: list, ligne: int, in_error: set[str], found: list[Problem]) -> None:
        count = len(cells)
        for name, position in self._siret_cells:
            if position < count and name not in in_error:
                value = _text(cells[position])
                if value and not is_siret(value):
                    found.append(siret(ligne, name, value))
        for first, second, one, other in self._one_of_cells:
            if first in in_error or second in in_error:
                continue
            if not (one < count and _text(cells[one])) and not (
                other < count and _text(cells[other])
            ):
                found.append(one_of_required(ligne, first, second, self.fields))
        for name, position, is_date, is_period in self._date_cells:
            if position >= count or name in in_error:
                continue
            value = _text(cells[position])
            if not value:
                continue
            if is_date and not ISO_DATE.fullmatch(value):
                found.append(loose_date(ligne, name, value))
            if is_period:
                found += period(ligne, name, value)


def _text(cell) -> str:
    """The cell as written, around its spaces."""
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
