"""Atomic refresh: work on a copy of the warehouse, swap it in only when all went well."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from tasks.core.errors import OpenDataError
from tasks.core.sql import quote_ident


def candidate_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.stem + ".en_cours" + warehouse.suffix)


def rejected_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.stem + ".rejete" + warehouse.suffix)


def start_candidate(warehouse: Path) -> Path:
    """A private copy of the current warehouse (or a new empty file) to build into."""
    candidate = candidate_path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (candidate, candidate.with_name(candidate.name + ".wal")):
        leftover.unlink(missing_ok=True)
    if warehouse.exists():
        # Opening and closing checkpoints any write-ahead log into the file before the copy.
        try:
            duckdb.connect(str(warehouse)).close()
        except duckdb.IOException as error:
            raise OpenDataError(
                "l'entrepôt est ouvert par un autre programme (une autre exécution, ou une "
                "session duckdb)",
                where=str(warehouse),
                action="fermez l'autre programme ou attendez la fin de l'autre exécution, puis "
                "relancez ; rien n'a été modifié",
            ) from error
        shutil.copyfile(warehouse, candidate)
    return candidate


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection whose memory is bounded (it spills to disk beyond)."""
    from tasks.core.settings import Settings

    return duckdb.connect(str(path), config={"memory_limit": Settings.from_env().duckdb_memory})


def keep_validated(candidate: Path, warehouse: Path, blocked: list[str]) -> None:
    """Blocked marts keep, in the candidate, their version of the warehouse in service
    (the last validated one; an empty table of the new layout when there is none). The
    refused versions go to the schema `rejets` for inspection, replacing the previous
    run's."""
    with connect(candidate) as conn:
        conn.execute("drop schema if exists rejets cascade")
        if not blocked:
            return
        conn.execute("create schema rejets")
        in_service = set()
        if warehouse.exists():
            path = str(warehouse).replace("'", "''")
            conn.execute(f"attach '{path}' as en_service (read_only)")
            in_service = {
                row[0]
                for row in conn.execute(
                    "select table_name from duckdb_tables() "
                    "where database_name = 'en_service' and schema_name = 'marts'"
                ).fetchall()
            }
        for mart in blocked:
            name = quote_ident(mart)
            conn.execute(f"create table rejets.{name} as select * from marts.{name}")
            previous = f"en_service.marts.{name}" if mart in in_service else None
            conn.execute(
                f"create or replace table marts.{name} as "
                + (f"select * from {previous}" if previous else f"from rejets.{name} limit 0")
            )
        if warehouse.exists():
            conn.execute("detach en_service")


def promote(candidate: Path, warehouse: Path) -> None:
    """Replace the warehouse by the candidate in one rename (atomic on the same disk)."""
    duckdb.connect(str(candidate)).close()
    os.replace(candidate, warehouse)


def set_aside(candidate: Path, warehouse: Path) -> Path | None:
    """Keep a failed candidate for inspection; the warehouse itself is untouched."""
    if not candidate.exists():
        return None
    target = rejected_path(warehouse)
    os.replace(candidate, target)
    candidate.with_name(candidate.name + ".wal").unlink(missing_ok=True)
    return target


@contextmanager
def candidate(warehouse: Path) -> Iterator[Path]:
    """Yield a candidate to build into; promote it on success, set it aside on failure.

    One refresh at a time: a lock file beside the warehouse is held for the whole build,
    so that a manual run and a scheduled run never build or swap together.
    """
    with _exclusive(warehouse):
        path = start_candidate(warehouse)
        try:
            yield path
        except BaseException:
            set_aside(path, warehouse)
            raise
        promote(path, warehouse)


def locked(warehouse: Path):
    """Hold the warehouse for a whole run (the refresh then its publication), or for a run
    that writes into it without rebuilding it."""
    return _exclusive(warehouse)


# Locks this process holds already: a refresh holds the warehouse from its build to the
# end of its publication, and the steps inside take the same lock again freely.
_HELD: dict[Path, int] = {}


@contextmanager
def _exclusive(warehouse: Path) -> Iterator[None]:
    key = warehouse.resolve()
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    with _flock(warehouse):
        _HELD[key] = 1
        try:
            yield
        finally:
            _HELD.pop(key, None)


@contextmanager
def _flock(warehouse: Path) -> Iterator[None]:
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with warehouse.with_name(warehouse.name + ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise OpenDataError(
                "un autre rafraîchissement est en cours sur cet entrepôt",
                where=str(warehouse),
                action="attendez la fin de l'autre exécution (interface Prefect), puis relancez ; "
                "rien n'a été modifié",
            ) from error
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
