"""Build the staging and mart models: one `.sql` file = one table, in dependency order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb

from tasks.core.errors import ConfigurationError, InvalidData
from tasks.core.sql import SQL_DIR, quote_ident

# staging renames and casts; intermediate defines the shared rules once (the commune
# geography of the run, the table de passage); marts join and compute.
LAYERS = ("staging", "intermediate", "marts")
_REFERENCE = re.compile(r"\b(raw|ref|staging|intermediate|marts)\.(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Model:
    layer: str
    name: str
    path: Path

    @property
    def table(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def quoted(self) -> str:
        return f"{self.layer}.{quote_ident(self.name)}"

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def references(self) -> set[str]:
        return {f"{layer.lower()}.{name}" for layer, name in _REFERENCE.findall(self.sql)}


def discover(root: Path = SQL_DIR) -> list[Model]:
    """Every model, ordered so that each comes after the models it reads."""
    models = {
        f"{layer}.{path.stem}": Model(layer, path.stem, path)
        for layer in LAYERS
        for path in sorted((root / layer).glob("*.sql"))
    }
    graph = {
        table: {ref for ref in model.references() if ref in models and ref != table}
        for table, model in models.items()
    }
    try:
        return [models[table] for table in TopologicalSorter(graph).static_order()]
    except CycleError as error:
        raise ConfigurationError(
            f"dépendance circulaire entre modèles SQL : {' → '.join(error.args[1])}",
            where=str(root),
            action="un modèle ne peut pas se lire lui-même, même indirectement",
        ) from error


def build(conn: duckdb.DuckDBPyConnection, models: list[Model]) -> dict[str, int]:
    """Create every model table; returns the row count of each."""
    counts = {}
    for model in models:
        _require_raw_tables(conn, model)
        try:
            conn.execute(f"create or replace table {model.quoted} as {model.sql}")
        except duckdb.Error as error:
            raise InvalidData(
                f"le modèle {model.table} n'a pas pu être construit : {error}",
                where=str(model.path.relative_to(SQL_DIR.parent)),
                action="si une colonne manque, la source a changé de structure : vérifiez "
                "warehouse/sources.yaml et le modèle",
            ) from error
        counts[model.table] = conn.execute(f"select count(*) from {model.quoted}").fetchall()[0][0]
    return counts


def existing_tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """Every table of the warehouse, as `schema.table`."""
    return {
        f"{schema}.{table}"
        for schema, table in conn.execute(
            "select schema_name, table_name from duckdb_tables()"
        ).fetchall()
    }


def _require_raw_tables(conn: duckdb.DuckDBPyConnection, model: Model) -> None:
    existing = existing_tables(conn)
    missing = sorted(
        ref for ref in model.references() if ref.startswith("raw.") and ref not in existing
    )
    if missing:
        sources = ", ".join(ref.split(".", 1)[1] for ref in missing)
        raise InvalidData(
            f"le modèle {model.table} lit {', '.join(missing)}, jamais chargée(s) dans l'entrepôt",
            where=str(model.path.relative_to(SQL_DIR.parent)),
            action=f"lancez d'abord un rafraîchissement avec la ou les source(s) : {sources}",
        )


def raw_sources(model: Model, models: list[Model]) -> set[str]:
    """The raw tables a model reads, directly or through other models."""
    return {ref.split(".", 1)[1] for ref in _upstream(model, models) if ref.startswith("raw.")}


def upstream_marts(model: Model, models: list[Model]) -> set[str]:
    """The other marts a model is built from, directly or through staging and
    intermediate models. A mart that publishes one intermediate model as it is
    (`marts.communes`: `intermediate.int_communes`) stands for it: whatever reads that
    model is built from the mart, and is blocked with it."""
    stands_for = {}
    for other in models:
        read = {ref for ref in other.references() if not ref.startswith("ref.")}
        if other.layer == "marts" and len(read) == 1 and min(read).startswith("intermediate."):
            stands_for[min(read)] = other.table
    upstream = _upstream(model, models)
    upstream |= {stands_for[ref] for ref in upstream if ref in stands_for}
    return {
        ref.split(".", 1)[1] for ref in upstream if ref.startswith("marts.") and ref != model.table
    }


def _upstream(model: Model, models: list[Model]) -> set[str]:
    """Every table a model reads, directly or through other models."""
    by_table = {m.table: m for m in models}
    seen, pending, found = set(), [model.table], set()
    while pending:
        table = pending.pop()
        if table in seen:
            continue
        seen.add(table)
        for ref in by_table[table].references() if table in by_table else ():
            found.add(ref)
            pending.append(ref)
    return found


def loaded_sources(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """The sources the warehouse has loaded at least once."""
    return {row[0] for row in conn.execute("select source_id from meta.chargements").fetchall()}


def awaiting_data(conn: duckdb.DuckDBPyConnection, models: list[Model]) -> dict[str, list[str]]:
    """Marts left empty only because the facultative sources they read were never loaded.

    They are neither validated nor exported (the summary names them); any other empty
    mart is validated, and fails its suite.
    """
    loaded = loaded_sources(conn)
    waiting = {}
    for model in models:
        if model.layer != "marts":
            continue
        if conn.execute(f"select count(*) from {model.quoted}").fetchall()[0][0]:
            continue
        unloaded = sorted(raw_sources(model, models) - loaded)
        if unloaded:
            waiting[model.name] = unloaded
    return waiting
