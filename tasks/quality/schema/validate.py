"""Check a subsidies CSV against the SCDL subventions schema, the way schema.data.gouv.fr
(validata) does, and say every problem in French: what, which cell, how to fix it.

frictionless checks types and constraints; it ignores the schema's `custom_checks`
(SIRET key, one-of-required), which are done here with python-stdnum, and nobody checks
that the payment dates exist on the calendar, which we add at the « date » level.
The file and its header are read here, the data rows in rows.py.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# Problem and the levels are re-exported: callers import them from this module.
from tasks.quality.schema.problems import AVERTISSEMENT, DATE, ERREUR, Problem
from tasks.quality.schema.rows import PERIOD_FIELDS, Column, RowChecks, check_rows

__all__ = [
    "AVERTISSEMENT",
    "DATE",
    "ERREUR",
    "PERIOD_FIELDS",
    "Column",
    "Problem",
    "RowChecks",
    "Validation",
    "validate",
]

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
            check_rows(Path(path), encoding, delimiter, checks, problems)
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
