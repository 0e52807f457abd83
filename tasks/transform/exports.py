"""Write one CSV per mart for the run's territory (UTF-8, comma, decimal point): the
rows of its communes (`dans_territoire` of intermediate.int_communes), or of the EPCI
itself for the EPCI mart. The warehouse keeps all of France.

Files are first written beside their final name (`.partiel`) from the candidate
warehouse, inside the atomic refresh; they replace the published files together,
only once the candidate has become the warehouse. A folder that cannot be written is
found before the build (`check_writable`), and a write that fails during it (a disk
full) fails the candidate: the warehouse and the previous files stay as they were.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tasks.core.errors import OpenDataError
from tasks.core.sql import quote_ident

PARTIAL = ".partiel"


@dataclass(frozen=True)
class Export:
    mart: str
    path: Path
    rows: int

    @property
    def partial(self) -> Path:
        return self.path.with_name(self.path.name + PARTIAL)


def stage(conn: duckdb.DuckDBPyConnection, marts: list[str], folder: Path) -> list[Export]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for leftover in folder.glob(f"*{PARTIAL}"):
            leftover.unlink()
        staged = []
        for mart in marts:
            export = Export(mart, folder / f"{mart}.csv", 0)
            relation = conn.table(f"marts.{quote_ident(mart)}").filter(_in_territory(conn, mart))
            relation.write_csv(str(export.partial), header=True, sep=",")
            staged.append(Export(mart, export.path, len(relation)))
    except (OSError, duckdb.IOException) as error:
        raise unwritable(folder, error) from error
    return staged


def check_writable(folder: Path) -> None:
    """Write and delete a file in the folder: permissions alone do not say it (root
    writes in a folder without the write permission; a mount may be read-only)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".essai-ecriture-"):
            pass
    except OSError as error:
        raise unwritable(folder, error) from error


_REASONS = {
    errno.EACCES: "droits insuffisants",
    errno.EPERM: "droits insuffisants",
    errno.EROFS: "système de fichiers monté en lecture seule",
    errno.ENOSPC: "disque plein",
    errno.EDQUOT: "quota disque dépassé",
    errno.ENOTDIR: "un fichier ordinaire est à la place d'un dossier du chemin",
    errno.EEXIST: "un fichier ordinaire est à la place du dossier",
}


def unwritable(folder: Path, error: OSError | duckdb.Error) -> OpenDataError:
    text = str(error).splitlines()[0]
    # DuckDB's errors carry no errno, only the system's text (« Permission denied »).
    code = getattr(error, "errno", None) or next(
        (code for code in _REASONS if os.strerror(code) in text), None
    )
    reason = _REASONS.get(code, text)
    return OpenDataError(
        f"impossible d'écrire les exports : {reason}",
        where=str(folder),
        action="donnez à l'utilisateur qui lance le rafraîchissement le droit d'écrire dans "
        "ce dossier (ou libérez de la place), ou choisissez un autre dossier de données "
        "(OPENDATA_DATA_DIR), puis relancez ; l'entrepôt et les exports précédents n'ont "
        "pas été modifiés",
    )


def _in_territory(conn: duckdb.DuckDBPyConnection, mart: str) -> str:
    """The filter of a mart's rows on the run's territory (ref.execution)."""
    columns = {row[0] for row in conn.table(f"marts.{quote_ident(mart)}").description}
    if "code_commune" in columns:
        return (
            "code_commune in (select code_commune from intermediate.int_communes "
            "where dans_territoire)"
        )
    return "dans_territoire"


def commit(staged: list[Export]) -> list[Export]:
    for export in staged:
        os.replace(export.partial, export.path)
    return staged
