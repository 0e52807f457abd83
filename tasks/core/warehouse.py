"""Atomic refresh: work on a copy of the warehouse, swap it in only when all went well.

The files beside the warehouse (`opendata.duckdb`), and what becomes of them:

- `opendata.en_cours.duckdb` (and its `.wal`): the candidate a run builds into. A run
  killed (kill -9, power cut) leaves it behind; the next run deletes it when it starts.
- `opendata.rejete.duckdb`: the candidate of the last failed run, kept for inspection.
- `opendata.duckdb.lock`: one refresh at a time (flock). The system releases the lock
  when its process dies, even by kill -9; the empty file stays, harmless.
- `generations/opendata.<horodatage UTC>.duckdb`: the previous warehouses. Each time a
  warehouse is replaced (a refresh or a subsidies load that succeeds, a restoration),
  the outgoing one is kept there: a hard link, not a copy (a replaced file is never
  written again), so the swap costs no disk and no time. The `OPENDATA_GENERATIONS`
  most recent are kept (3 by default, 0 for none), the older ones deleted: on disk, up
  to that many warehouses (a few hundred MB each for France) besides the one in
  service and, during a run, its candidate. A name ending in `.en_cours` there is a
  swap a kill interrupted: the next run keeps it if the swap was done, drops it if not.
- `opendata.endommage.duckdb` (then `opendata.endommage.<horodatage>.duckdb`): a damaged
  warehouse set aside by a restoration, with its `.wal`; never deleted by the pipeline.

A damaged warehouse (truncated, overwritten, a block whose checksum is wrong, or a
`.wal` that does not match it) is reported in French wherever it is opened
(`open_checked`: the refresh, `sql`, `qualite`, `site`, which read back every block of
every table, ~0.3 s for France), naming `opendata-mel restaurer`: it puts a copy of a
generation in service in one rename (the generation itself stays as it was), under the
lock of the refresh.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tasks.core.damage import RESTORE_COMMAND, WarehouseDamaged, check_readable, open_checked
from tasks.core.errors import OpenDataError
from tasks.core.sql import quote_ident

GENERATIONS = "generations"
_STAMP = "%Y%m%dT%H%M%S.%fZ"
# A generation whose swap has not finished yet (the run may be killed in between).
_PENDING = ".en_cours"


def candidate_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.stem + ".en_cours" + warehouse.suffix)


def rejected_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.stem + ".rejete" + warehouse.suffix)


def wal_path(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def start_candidate(warehouse: Path) -> Path:
    """A private copy of the current warehouse (or a new empty file) to build into."""
    candidate = candidate_path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (candidate, wal_path(candidate)):
        leftover.unlink(missing_ok=True)
    _settle_leftovers(warehouse)
    if warehouse.exists():
        # Opening and closing checkpoints any write-ahead log into the file before the copy.
        open_checked(warehouse, read_only=False, whole=True).close()
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


def promote(candidate: Path, warehouse: Path, keep: int | None = None) -> None:
    """Replace the warehouse by the candidate in one rename (atomic on the same disk),
    keeping the outgoing one as the newest generation."""
    keep = _kept(keep)
    duckdb.connect(str(candidate)).close()
    pending = _retire(warehouse, keep)
    os.replace(candidate, warehouse)
    _sync_folder(warehouse.parent)
    _settle(warehouse, pending, keep)


def set_aside(candidate: Path, warehouse: Path) -> Path | None:
    """Keep a failed candidate for inspection; the warehouse itself is untouched."""
    if not candidate.exists():
        return None
    target = rejected_path(warehouse)
    os.replace(candidate, target)
    wal_path(candidate).unlink(missing_ok=True)
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


# Generations -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Generation:
    number: int  # 1: the most recent
    path: Path
    replaced_at: dt.datetime  # when it stopped being the warehouse in service


def generations_dir(warehouse: Path) -> Path:
    return warehouse.parent / GENERATIONS


def generations(warehouse: Path) -> list[Generation]:
    """The generations kept, the most recent first."""
    folder = generations_dir(warehouse)
    pattern = re.compile(
        rf"{re.escape(warehouse.stem)}\.(\d{{8}}T\d{{6}}\.\d{{6}}Z){re.escape(warehouse.suffix)}"
    )
    found = []
    for path in folder.iterdir() if folder.is_dir() else []:
        match = pattern.fullmatch(path.name)
        if match:
            stamp = dt.datetime.strptime(match[1], _STAMP).replace(tzinfo=dt.UTC)
            found.append((stamp, path))
    found.sort(reverse=True)
    return [Generation(n, path, stamp) for n, (stamp, path) in enumerate(found, start=1)]


def rotate(warehouse: Path, keep: int) -> list[Path]:
    """Delete the generations beyond the `keep` most recent; returns what was deleted."""
    dropped = [generation.path for generation in generations(warehouse)[max(keep, 0) :]]
    for path in dropped:
        path.unlink()
    return dropped


def _kept(keep: int | None) -> int:
    if keep is not None:
        return keep
    from tasks.core.settings import Settings

    return Settings.from_env().generations


def _retire(warehouse: Path, keep: int) -> Path | None:
    """A second name for the outgoing warehouse, under generations/, pending until the
    swap is done."""
    if keep <= 0 or not warehouse.exists():
        return None
    folder = generations_dir(warehouse)
    folder.mkdir(exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    pending = folder / f"{warehouse.stem}.{now:{_STAMP}}{warehouse.suffix}{_PENDING}"
    _second_name(warehouse, pending)
    return pending


def _second_name(path: Path, target: Path) -> None:
    """A hard link: no copy, and the warehouse keeps its name until it is replaced."""
    try:
        os.link(path, target)
    except OSError:  # a file system without hard links: a copy, then
        shutil.copyfile(path, target)


def _settle(warehouse: Path, pending: Path | None, keep: int) -> None:
    if pending is not None:
        os.replace(pending, pending.with_name(pending.name.removesuffix(_PENDING)))
    rotate(warehouse, keep)


def _settle_leftovers(warehouse: Path) -> None:
    """A run killed during its swap leaves a pending generation: kept when the swap was
    done (it is the previous warehouse), dropped otherwise (a name of the one in service)."""
    folder = generations_dir(warehouse)
    if not folder.is_dir():
        return
    live = warehouse.stat().st_ino if warehouse.exists() else None
    for pending in folder.glob(f"{warehouse.stem}.*{warehouse.suffix}{_PENDING}"):
        if pending.stat().st_ino == live:
            pending.unlink()
        else:
            _settle(warehouse, pending, _kept(None))


def _sync_folder(folder: Path) -> None:
    """Make a rename durable (a power cut right after it keeps the new name)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# Restoring a generation --------------------------------------------------------------------
def damaged_path(warehouse: Path) -> Path:
    """Where a damaged warehouse is set aside: never over a previous one."""
    plain = warehouse.with_name(f"{warehouse.stem}.endommage{warehouse.suffix}")
    if not plain.exists():
        return plain
    now = dt.datetime.now(dt.UTC)
    return warehouse.with_name(f"{warehouse.stem}.endommage.{now:{_STAMP}}{warehouse.suffix}")


@dataclass(frozen=True)
class Restored:
    generation: Generation
    warehouse: Path
    damaged: Path | None  # the damaged warehouse, set aside
    retired: Path | None  # or the sound one replaced, now a generation

    def text(self) -> str:
        lines = [
            f"Entrepôt restauré : génération {self.generation.number} "
            f"({self.generation.path.name}, remplacée le {_when(self.generation)}), "
            f"en service dans {self.warehouse}."
        ]
        if self.damaged:
            lines.append(f"Entrepôt endommagé mis de côté pour examen : {self.damaged}")
        if self.retired:
            lines.append(
                f"L'entrepôt remplacé est gardé comme génération 1 : {self.retired.name} "
                f"(`{RESTORE_COMMAND}` le remet en service)."
            )
        lines.append(
            "Les exports (data/outputs) ne changent pas : relancez `opendata-mel refresh` "
            "pour les refaire depuis l'entrepôt restauré."
        )
        return "\n".join(lines)


def restore(warehouse: Path, number: int = 1, keep: int | None = None) -> Restored:
    """Put a copy of generation `number` in service in one rename (the generation stays as
    it was: a hard link would let the next writes in service change it too). The warehouse
    it replaces is set aside when damaged (never deleted), kept as generation 1 otherwise
    (even with OPENDATA_GENERATIONS=0: a restoration can be undone)."""
    keep = max(_kept(keep), 1)
    with _exclusive(warehouse):
        _settle_leftovers(warehouse)
        chosen = _chosen(warehouse, number)
        check_readable(chosen.path)
        sound = warehouse.exists() and damage_in(warehouse) is None
        staging = candidate_path(warehouse)
        wal_path(staging).unlink(missing_ok=True)
        shutil.copyfile(chosen.path, staging)
        damaged, pending = None, None
        if sound:
            open_checked(warehouse, read_only=False).close()  # its .wal into it
            pending = _retire(warehouse, keep)
        elif warehouse.exists():
            damaged = damaged_path(warehouse)
            if wal_path(warehouse).exists():  # never replayed onto the restored file
                os.replace(wal_path(warehouse), wal_path(damaged))
            _second_name(warehouse, damaged)
        os.replace(staging, warehouse)
        _sync_folder(warehouse.parent)
        _settle(warehouse, pending, keep)
        retired = generations(warehouse)[0].path if pending else None
        return Restored(chosen, warehouse, damaged, retired)


def _chosen(warehouse: Path, number: int) -> Generation:
    kept = generations(warehouse)
    if not kept:
        raise OpenDataError(
            "aucune génération de l'entrepôt n'est gardée",
            where=str(generations_dir(warehouse)),
            action="une génération est gardée à chaque rafraîchissement réussi "
            "(OPENDATA_GENERATIONS) ; sans elle, refaites l'entrepôt : `opendata-mel "
            "refresh` (les fichiers déjà téléchargés, dans data/raw, sont relus)",
        )
    if not 1 <= number <= len(kept):
        raise OpenDataError(
            f"pas de génération {number} : {len(kept)} gardée(s), numérotées de 1 (la plus "
            f"récente) à {len(kept)}",
            where=str(generations_dir(warehouse)),
            action=f"choisissez-en une de `{RESTORE_COMMAND} --liste`",
        )
    return kept[number - 1]


def damage_in(path: Path) -> WarehouseDamaged | None:
    try:
        check_readable(path)
    except WarehouseDamaged as error:
        return error
    return None


def describe(warehouse: Path, keep: int | None = None) -> str:
    """The warehouse in service and its generations, in French (reads only)."""
    lines = [
        f"Entrepôt en service : {warehouse} — {_state(warehouse)}",
        f"Générations gardées ({_kept(keep)} au plus, OPENDATA_GENERATIONS), "
        f"dans {generations_dir(warehouse)} :",
    ]
    kept = generations(warehouse)
    lines += [
        f"  {g.number}. {g.path.name}, remplacée le {_when(g)} — {_state(g.path)}" for g in kept
    ] or ["  aucune (une génération est gardée à chaque rafraîchissement réussi)"]
    if kept:
        lines.append(f"Restaurer : `{RESTORE_COMMAND} --generation N` (défaut : 1).")
    return "\n".join(lines)


def _state(path: Path) -> str:
    if not path.exists():
        return "absent"
    size = f"{path.stat().st_size / 1e6:.1f} Mo".replace(".", ",")
    try:
        with open_checked(path, whole=True) as conn:
            last = conn.execute("select max(charge_le) from meta.chargements").fetchall()[0][0]
    except WarehouseDamaged as error:
        return f"{size}, ENDOMMAGÉ : {error.what}"
    except OpenDataError as error:  # held by another program
        return f"{size}, illisible pour l'instant : {error.what}"
    except duckdb.CatalogException:  # a warehouse that never loaded a source
        last = None
    if last is None:
        return f"{size}, lisible, aucun chargement enregistré"
    return f"{size}, lisible, dernier chargement le {last.astimezone():%d/%m/%Y à %H:%M}"


def _when(generation: Generation) -> str:
    return f"{generation.replaced_at.astimezone():%d/%m/%Y à %H:%M:%S}"


# One refresh at a time ---------------------------------------------------------------------
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
