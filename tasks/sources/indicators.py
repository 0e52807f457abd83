"""Per-indicator files (Observatoire des territoires): one download per indicator of the
registry, read from CSV or from the default XLSX layout, normalised to long rows.

CSV: `codgeo;libgeo;<indicateur>` (the last year only, which the file does not name).
XLSX: sheet `Data`, banner rows above the header, long format `codgeo, libgeo, an,
[sexe,] <indicateur>`. Values stay text as published: `-9999` (non classé) and empty
cells (zero or secret, indistinguishable) are told apart by the staging model.
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

from tasks.core.errors import InvalidFormat, LayoutChanged
from tasks.sources.formats import decode_text
from tasks.sources.registry import Indicateur, Source

NORMALISED = ("codgeo", "libgeo", "an", "sexe", "indicateur", "valeur")
_REQUIRED = ("codgeo", "libgeo")
_HEADER_SEARCH = 20  # rows searched for the header when the banner changed height


def indicator_for_url(source: Source, url: str) -> Indicateur:
    for indicateur in source.indicateurs:
        if source.indicator_url(indicateur) == url:
            return indicateur
    raise InvalidFormat(
        f"le fichier {url} ne correspond à aucun indicateur du registre",
        where=f"source {source.id}",
        action="le registre a changé depuis le téléchargement : relancez le rafraîchissement",
    )


def file_format(source: Source, indicateur: Indicateur) -> str:
    return indicateur.format or source.format


def check_layout(path: Path, source: Source, indicateur: Indicateur, url: str) -> None:
    """At download: the header and a first row are there (the top of the file only: a
    France-wide xlsx takes ~30 s to read whole, see bench/observatoire_xlsx.py)."""
    read_rows(path, source, indicateur, url, limit=_HEADER_SEARCH + 1)


def read_rows(
    path: Path, source: Source, indicateur: Indicateur, url: str, limit: int | None = None
) -> list[list[str]]:
    """The rows of one indicator file as `NORMALISED` columns, or a French error.
    `limit`: read only that many rows of the file (header included)."""
    where = f"{url} (source {source.id}, indicateur {indicateur.code})"
    if file_format(source, indicateur) == "xlsx":
        table = _xlsx_rows(path, source, where, limit)
    else:
        table = _csv_rows(path, source, where, limit)
    value_column = (source.value_column or "{indicateur}").format(indicateur=indicateur.code)
    header_index, header = _find_header(table, source)
    position = _positions(header, value_column, indicateur, where)
    rows = _long_rows(table[header_index + 1 :], position, value_column, indicateur)
    if not rows:
        raise InvalidFormat(
            f"l'export de l'indicateur {indicateur.code} ne contient aucune ligne",
            where=where,
            action="réessayez plus tard ; si l'export reste vide, l'indicateur n'est peut-être "
            "plus diffusé à ce niveau géographique (nivgeo dans warehouse/sources.yaml)",
        )
    return rows


def _positions(
    header: list[str], value_column: str, indicateur: Indicateur, where: str
) -> dict[str, int]:
    """Where each named column is, once the required ones are known to be there."""
    position = {name: header.index(name) for name in header if name}
    missing = [name for name in (*_REQUIRED, value_column) if name not in position]
    if missing:
        read = ", ".join(name for name in header if name) or "aucune"
        raise LayoutChanged(
            f"colonne(s) attendue(s) absente(s) pour l'indicateur {indicateur.code} : "
            f"{', '.join(missing)} (colonnes lues : {read})",
            where=where,
            action="l'Observatoire a changé la structure de l'export, ou le code de "
            "l'indicateur : vérifiez-le sur le portail et corrigez `indicateurs` dans "
            "warehouse/sources.yaml",
        )
    return position


def _long_rows(
    data: list[list[str]], position: dict[str, int], value_column: str, indicateur: Indicateur
) -> list[list[str]]:
    """The data rows as `NORMALISED` columns, blank rows left out."""

    def cell(row: list[str], name: str) -> str:
        index = position.get(name)
        return row[index] if index is not None and index < len(row) else ""

    return [
        [
            cell(row, "codgeo"),
            cell(row, "libgeo"),
            cell(row, "an"),
            cell(row, "sexe"),
            indicateur.code,
            cell(row, value_column),
        ]
        for row in data
        if any(row)
    ]


def write_normalised(rows: list[list[str]], target: Path) -> Path:
    with target.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\n")
        writer.writerow(NORMALISED)
        writer.writerows(rows)
    return target


def _find_header(table: list[list[str]], source: Source) -> tuple[int, list[str]]:
    """The header row: where the registry says (`header_row`, below the banner), else the
    first row holding `codgeo` (a banner that changed height), names in lower case."""
    expected = max(0, source.header_row - 1) if source.format == "xlsx" else 0
    candidates = [expected, *(i for i in range(min(_HEADER_SEARCH, len(table))) if i != expected)]
    for index in candidates:
        if index < len(table) and "codgeo" in [name.lower() for name in table[index]]:
            return index, [name.lower() for name in table[index]]
    first = table[expected] if expected < len(table) else []
    return expected, [name.lower() for name in first]


def _csv_rows(path: Path, source: Source, where: str, limit: int | None) -> list[list[str]]:
    text = decode_text(path.read_bytes(), source, where)
    reader = csv.reader(io.StringIO(text), delimiter=source.separator or ";")
    return [[value.strip() for value in row] for row in itertools.islice(reader, limit)]


def _xlsx_rows(path: Path, source: Source, where: str, limit: int | None) -> list[list[str]]:
    import openpyxl  # imported when needed: only this source reads spreadsheets

    try:
        # A file object: openpyxl judges a path by its extension, and raw files have none.
        with path.open("rb") as f:
            workbook = openpyxl.load_workbook(io.BytesIO(f.read()), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged file
        raise InvalidFormat(
            f"le classeur xlsx est illisible ({error.__class__.__name__} : {error})",
            where=where,
            action="réessayez plus tard ; rien n'a été chargé pour cet indicateur",
        ) from error
    try:
        if source.sheet and source.sheet not in workbook.sheetnames:
            raise LayoutChanged(
                f"la feuille « {source.sheet} » est absente du classeur "
                f"(feuilles : {', '.join(workbook.sheetnames)})",
                where=where,
                action="corrigez `sheet` dans warehouse/sources.yaml",
            )
        sheet = workbook[source.sheet] if source.sheet else workbook.active
        rows = sheet.iter_rows(values_only=True, max_row=limit)
        return [[_text(value) for value in row] for row in rows]
    finally:
        workbook.close()


def _text(value) -> str:
    """A cell as text, as a CSV export would write it (never a float artefact)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
