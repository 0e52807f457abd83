"""Check a subsidies CSV against the SCDL subventions schema, the way schema.data.gouv.fr
(validata) does, and say every problem in French: what, which cell, how to fix it.

frictionless checks types and constraints; it ignores the schema's `custom_checks`
(SIRET key, one-of-required), which are done here with python-stdnum, and nobody checks
that the payment dates exist on the calendar, which we add at the « date » level.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frictionless import Dialect, FrictionlessException, Resource, Schema, formats

# Problem and the levels are re-exported: callers import them from this module.
from tasks.quality.schema.problems import (
    AVERTISSEMENT,
    DATE,
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
BINARY_MAGIC = {
    b"PK\x03\x04": "un classeur (xlsx, ods) ou une archive zip",
    b"\xd0\xcf\x11\xe0": "un classeur Excel ancien (xls)",
    b"%PDF": "un document PDF",
}


@dataclass(frozen=True)
class Validation:
    problems: tuple[Problem, ...]
    columns: tuple[str, ...]  # schema order, to sort problems as the file reads

    @property
    def conforme(self) -> bool:
        """Valid as the standard (and schema.data.gouv.fr) says."""
        return not any(p.niveau == ERREUR for p in self.problems)

    @property
    def publiable(self) -> bool:
        """Conforme, and every date exists and every period is in order."""
        return not any(p.niveau in (ERREUR, DATE) for p in self.problems)

    def lines(self) -> list[str]:
        def rank(problem: Problem) -> tuple[int, int]:
            if problem.colonne is None:
                column = -1
            elif problem.colonne in self.columns:
                column = self.columns.index(problem.colonne)
            else:
                column = len(self.columns)
            return (problem.ligne or 0, column)

        return [str(p) for p in sorted(self.problems, key=rank)]


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


def validate(path: Path, schema_path: Path) -> Validation:
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    fields = schema["fields"]
    problems: list[Problem] = []
    columns: list[Column] = []
    source = _read_text(Path(path), problems)
    if source is not None:
        encoding, text = source
        delimiter = _delimiter(text, problems)
        labels = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
        columns = _header(labels, fields, problems)
        if columns:
            checks = RowChecks(schema, columns)
            _check_rows(Path(path), encoding, delimiter, checks, problems)
    return Validation(tuple(problems), tuple(f["name"] for f in fields))


# The file as a whole


def _read_text(path: Path, problems: list[Problem]) -> tuple[str, str] | None:
    """The encoding to read the file with, and its text; None when it cannot be a CSV."""

    def fatal(titre: str, detail: str, correction: str) -> None:
        problems.append(Problem(None, None, titre, detail, correction, ERREUR))

    try:
        data = path.read_bytes()
    except OSError as error:
        fatal("Fichier introuvable ou illisible", str(error), "vérifiez le chemin du fichier")
        return None
    if not data.strip():
        fatal("Fichier vide", f"{path.name} ne contient rien", "exportez à nouveau le tableau")
        return None
    kind = next((k for magic, k in BINARY_MAGIC.items() if data.startswith(magic)), None)
    if kind or b"\x00" in data[:8192]:
        fatal(
            "Le fichier n'est pas un fichier CSV",
            f"{path.name} est {kind or 'un fichier binaire'}",
            "enregistrez le tableau au format CSV (UTF-8, séparateur virgule)",
        )
        return None
    try:
        return ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"), data.decode(
            "utf-8-sig"
        )
    except UnicodeDecodeError as error:
        ligne = data[: error.start].count(b"\n") + 1
        bad = data[error.start : error.start + 1].hex()
        problems.append(
            Problem(
                ligne,
                None,
                "Encodage du fichier incorrect",
                f"octet 0x{bad} invalide en UTF-8 (fichier probablement en Windows-1252)",
                "réenregistrez le fichier en CSV avec le jeu de caractères « Unicode (UTF-8) »",
                ERREUR,
            )
        )
    # Go on as a Windows export, so the officer gets the other problems in one pass.
    try:
        return "cp1252", data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1", data.decode("latin-1")


def _delimiter(text: str, problems: list[Problem]) -> str:
    first = text.splitlines()[0] if text.strip() else ""
    if len(next(csv.reader([first]), [])) > 1:
        return ","
    for other, name in ((";", "le point-virgule"), ("\t", "la tabulation")):
        if other in first:
            problems.append(
                Problem(
                    1,
                    None,
                    "Séparateur de colonnes incorrect",
                    f"les colonnes sont séparées par {name}",
                    f"réenregistrez le fichier en CSV avec la virgule comme séparateur, pas {name}",
                    ERREUR,
                )
            )
            return other
    return ","


# Header (ligne 1): matched by name, so that a misplaced column is still checked as itself


def _normalized(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


def _header(labels: list[str], fields: list[dict], problems: list[Problem]) -> list[Column]:
    by_name = {f["name"]: f for f in fields}
    columns: list[Column] = []
    taken: set[str] = set()
    for position, label in enumerate(labels):
        found = by_name.get(label) if label not in taken else None
        columns.append(Column(position, label, found, label if found else None))
        taken.update([label] if found else [])
    for column in columns:  # renamed columns: NOM_Beneficiaire, « Nom du bénéficiaire »
        if column.field is None and column.label not in by_name:
            key = _normalized(column.label)
            for f in fields:
                if f["name"] not in taken and key in (
                    _normalized(f["name"]),
                    _normalized(f.get("title", "")),
                ):
                    column.field, column.colonne = f, f["name"]
                    taken.add(f["name"])
                    _add_header(problems, column, "Nom de colonne incorrect", fields)
                    break
    missing = [f for f in fields if f["name"] not in taken]
    for column in columns:
        if column.field is None:
            column.colonne = column.label or None
            _add_header(problems, column, _unknown_title(column, by_name), fields, missing)
    for f in missing:
        _add_missing(problems, f, fields)
    _check_order(columns, fields, problems)
    return columns


def _unknown_title(column: Column, by_name: dict[str, dict]) -> str:
    if not column.label.strip():
        return "En-tête de colonne vide"
    return "Colonne en double" if column.label in by_name else "Colonne inconnue"


def _add_header(
    problems: list[Problem],
    column: Column,
    titre: str,
    fields: list[dict],
    missing: list[dict] | None = None,
) -> None:
    label = column.label
    if titre == "Nom de colonne incorrect":
        correction = f"renommez la colonne « {label} » en « {column.colonne} »"
    elif titre == "Colonne en double":
        correction = f"supprimez la seconde colonne {label} ({column.position + 1}e colonne)"
    else:
        names = ", ".join(f["name"] for f in missing or [])
        correction = "supprimez cette colonne, que le schéma ne prévoit pas" + (
            f", ou renommez-la s'il s'agit de : {names}" if names else ""
        )
    detail = f"{column.position + 1}e colonne, en-tête « {label} »"
    problems.append(Problem(1, column.colonne, titre, detail, correction, ERREUR))


def _add_missing(problems: list[Problem], f: dict, fields: list[dict]) -> None:
    position = fields.index(f) + 1
    required = f.get("constraints", {}).get("required", False)
    problems.append(
        Problem(
            1,
            f["name"],
            "Colonne manquante" if required else "Colonne facultative manquante",
            f"{f.get('title', f['name'])} ({'obligatoire' if required else 'facultative'})",
            f"ajoutez la colonne {f['name']} en {position}e position"
            + ("" if required else ", même vide"),
            ERREUR if required else AVERTISSEMENT,
        )
    )


def _check_order(columns: list[Column], fields: list[dict], problems: list[Problem]) -> None:
    """Flag the fewest columns that must move: those outside the longest run in order."""
    order = [f["name"] for f in fields]
    present = [c.field["name"] for c in columns if c.field is not None]
    expected = [name for name in order if name in present]
    n = len(present)
    lcs = [[0] * (n + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(n - 1, -1, -1):
            lcs[i][j] = (
                lcs[i + 1][j + 1] + 1
                if present[i] == expected[j]
                else max(lcs[i + 1][j], lcs[i][j + 1])
            )
    in_place, i, j = set(), 0, 0
    while i < n and j < n:
        if present[i] == expected[j]:
            in_place.add(present[i])
            i, j = i + 1, j + 1
        elif lcs[i + 1][j] >= lcs[i][j + 1]:
            i += 1
        else:
            j += 1
    for name in present:
        if name not in in_place:
            k = order.index(name)
            after = f", après {order[k - 1]}" if k else ", en premier"
            problems.append(
                Problem(
                    1,
                    name,
                    "Colonne mal placée",
                    f"{present.index(name) + 1}e colonne du fichier",
                    f"déplacez la colonne {name} en {k + 1}e position{after}",
                    ERREUR,
                )
            )


# Rows


def _check_rows(
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
