"""A damaged warehouse file, told apart from a sound one that cannot be opened now (held
by another program, no rights, another DuckDB version), and said in French with what to
do: for a damaged one, the command that restores the last good generation
(tasks/core/warehouse.py keeps them)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tasks.core.errors import OpenDataError
from tasks.core.sql import quote_ident

RESTORE_COMMAND = "opendata-mel restaurer"


class WarehouseDamaged(OpenDataError):
    title = "Entrepôt endommagé"


# What DuckDB says of a damaged file, in French.
_DAMAGES = {
    "not a valid DuckDB database file": "ce n'est pas un fichier DuckDB valide (début écrasé "
    "ou fichier vide)",
    "Could not read enough bytes": "fichier tronqué : sa fin manque",
    "checksum": "un bloc du fichier est corrompu (somme de contrôle fausse)",
    "Corrupt database file": "un bloc du fichier est corrompu",
    "replaying WAL": "son journal d'écriture (.wal) ne lui correspond pas ou est abîmé",
}


def damage_of(error: duckdb.Error) -> str | None:
    """The French reason when a DuckDB error says the file itself is damaged."""
    text = str(error)
    return next((reason for mark, reason in _DAMAGES.items() if mark in text), None)


def open_checked(
    path: Path, *, read_only: bool = True, whole: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open a warehouse file; a damaged, held or unreadable one raises a French error
    (what, where, what to do) instead of DuckDB's. `whole`: read every table first, to
    find a damaged block before a long run rather than in its middle (DuckDB checks each
    block as it reads it; the national warehouse reads in ~0.3 s)."""
    try:
        conn = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as error:
        raise unreadable(path, error) from error
    try:  # the catalog is read at the first query
        tables = conn.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        for schema, table in tables if whole else []:
            name = f"{quote_ident(schema)}.{quote_ident(table)}"
            conn.execute(f"select count(*), bit_xor(hash(t)) from {name} t").fetchall()
    except duckdb.Error as error:
        conn.close()
        raise unreadable(path, error) from error
    return conn


def check_readable(path: Path) -> None:
    """Every block of every table is read back (see `open_checked`)."""
    open_checked(path, whole=True).close()


# What DuckDB says of a sound file it cannot open now: what it is, and what to do.
_NOT_DAMAGED = {
    "Could not set lock": (
        "l'entrepôt est ouvert par un autre programme (une autre exécution, ou une session duckdb)",
        "fermez l'autre programme ou attendez la fin de l'autre exécution, puis relancez ; "
        "rien n'a été modifié",
    ),
    "Permission denied": (
        "l'entrepôt ne peut pas être ouvert : droits insuffisants",
        "donnez à l'utilisateur qui lance la commande le droit de lire et d'écrire ce fichier "
        "et son dossier, puis relancez ; rien n'a été modifié",
    ),
    "version number": (
        "l'entrepôt a été écrit par une autre version de DuckDB",
        "lancez la commande dans l'environnement du projet (uv sync : la version de duckdb "
        "de pyproject.toml)",
    ),
}


def unreadable(path: Path, error: duckdb.Error) -> OpenDataError:
    text = str(error).splitlines()[0]
    for mark, (what, action) in _NOT_DAMAGED.items():
        if mark in text:
            return OpenDataError(what, where=str(path), action=action)
    reason = damage_of(error) or "DuckDB ne peut pas l'ouvrir"
    return WarehouseDamaged(
        f"le fichier de l'entrepôt est illisible : {reason} (DuckDB : {text})",
        where=str(path),
        action=f"remettez en service la dernière génération valide : `{RESTORE_COMMAND}` "
        f"(les générations gardées : `{RESTORE_COMMAND} --liste`) ; le fichier endommagé "
        "est gardé à côté pour examen, jamais effacé",
    )
