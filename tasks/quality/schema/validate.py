"""Check a subsidies CSV against the SCDL subventions schema, the way schema.data.gouv.fr
(validata) does, and say every problem in French: what, which cell, how to fix it.

frictionless checks types and constraints; it ignores the schema's `custom_checks`
(SIRET key, one-of-required), which are done here with python-stdnum, and nobody checks
that the payment dates exist on the calendar, which we add at the « date » level.
The file and its header are read here, the data rows in rows.py.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO

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
    encoding = _encoding(Path(path), problems)
    if encoding is not None:
        delimiter = _delimiter(_head(Path(path), encoding), problems)
        with Path(path).open(encoding=encoding, newline="\n") as handle:
            labels = next(csv.reader(handle, delimiter=delimiter), [])
        columns = _header(labels, fields, problems)
        if columns:
            checks = RowChecks(schema, columns)
            check_rows(Path(path), encoding, delimiter, checks, problems)
    return Validation(tuple(problems), tuple(f["name"] for f in fields))


# The file as a whole, read by chunks: its rows are then streamed by frictionless, so
# that memory does not grow with the file.

CHUNK = 1 << 16  # bytes (or characters) read at once: small next to any file
BOM = b"\xef\xbb\xbf"


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    return iter(lambda: handle.read(CHUNK), b"")


def _encoding(path: Path, problems: list[Problem]) -> str | None:
    """The encoding to read the file with; None when it cannot be a CSV."""

    def fatal(titre: str, detail: str, correction: str) -> None:
        problems.append(Problem(None, None, titre, detail, correction, ERREUR))

    try:
        with path.open("rb") as handle:
            start = handle.read(CHUNK)
            if not start.strip() and not any(chunk.strip() for chunk in _chunks(handle)):
                fatal(
                    "Fichier vide",
                    f"{path.name} ne contient rien",
                    "exportez à nouveau le tableau",
                )
                return None
            kind = next((k for magic, k in BINARY_MAGIC.items() if start.startswith(magic)), None)
            if kind or b"\x00" in start[:8192]:
                fatal(
                    "Le fichier n'est pas un fichier CSV",
                    f"{path.name} est {kind or 'un fichier binaire'}",
                    "enregistrez le tableau au format CSV (UTF-8, séparateur virgule)",
                )
                return None
            handle.seek(0)
            bad = first_non_utf8(_chunks(handle))
            if bad is None:
                return "utf-8-sig" if start.startswith(BOM) else "utf-8"
            handle.seek(0)
            # Go on as a Windows export, so the officer gets the other problems in one pass.
            windows = all(_decodes(chunk, "cp1252") for chunk in _chunks(handle))
    except OSError as error:
        fatal("Fichier introuvable ou illisible", str(error), "vérifiez le chemin du fichier")
        return None
    ligne, byte = bad
    problems.append(
        Problem(
            ligne,
            None,
            "Encodage du fichier incorrect",
            f"octet 0x{byte} invalide en UTF-8 (fichier probablement en Windows-1252)",
            "réenregistrez le fichier en CSV avec le jeu de caractères « Unicode (UTF-8) »",
            ERREUR,
        )
    )
    return "cp1252" if windows else "latin-1"


def first_non_utf8(chunks: Iterable[bytes]) -> tuple[int, str] | None:
    """(ligne, hex) of the first byte that is not UTF-8, as bytes.decode finds it; None
    when the whole file is UTF-8 (a BOM is UTF-8 too)."""
    pending, lines = b"", 0
    for chunk in chain(chunks, [b""]):  # the empty chunk last: the end of the file
        data = pending + chunk
        try:
            _, consumed = codecs.utf_8_decode(data, "strict", not chunk)
        except UnicodeDecodeError as error:
            return lines + data.count(b"\n", 0, error.start) + 1, data[error.start :][:1].hex()
        lines += data.count(b"\n", 0, consumed)
        pending = data[consumed:]  # a character cut by the chunk's end
    return None


def _decodes(chunk: bytes, encoding: str) -> bool:
    try:
        chunk.decode(encoding)  # one byte a character: a chunk decodes on its own
    except UnicodeDecodeError:
        return False
    return True


def _head(path: Path, encoding: str) -> str:
    """Enough of the text for `_delimiter`: up to the end of its first line, and past
    any blank start; all of it if it is blank."""
    head = ""
    with path.open(encoding=encoding, newline="") as handle:
        while chunk := handle.read(CHUNK):
            head += chunk
            first = head.splitlines(keepends=True)[0]
            if head.strip() and first.splitlines()[0] != first:
                break
    return head


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
