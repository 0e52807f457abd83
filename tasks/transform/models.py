"""Build the staging and mart models: one `.sql` file = one table, in dependency order.

A model whose file says `-- materialized: view` is a view instead (as dbt's
`materialized='view'`): a long table read by a single model, or filtered differently by
each, costs more to write to the warehouse than to compute again where it is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
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
_MATERIALIZED = re.compile(r"^--\s*materialized:\s*(\w+)\s*$", re.MULTILINE)
KINDS = ("table", "view")
# Marts end with `order by`, and are read in that order (exports, line numbers of the
# quality report); the rows of the other layers have no order of their own.
ORDERED_LAYERS = ("marts",)


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

    @property
    def materialized(self) -> str:
        """`table` (the default) or `view`, as the file's `-- materialized:` line says."""
        match = _MATERIALIZED.search(self.sql)
        return match.group(1).lower() if match else "table"

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
    """Create every model table (or view); returns the row count of each."""
    counts = {}
    for model in models:
        _require_raw_tables(conn, model)
        kind = _kind(model)
        try:
            _drop_other_kind(conn, model, kind)
            with _insertion_order(conn, kept=model.layer in ORDERED_LAYERS):
                conn.execute(f"create or replace {kind} {model.quoted} as {model.sql}")
        except duckdb.Error as error:
            raise InvalidData(
                f"le modèle {model.table} n'a pas pu être construit : {error}",
                where=_where(model),
                action="si une colonne manque, la source a changé de structure : vérifiez "
                "warehouse/sources.yaml et le modèle",
            ) from error
        counts[model.table] = conn.execute(f"select count(*) from {model.quoted}").fetchall()[0][0]
    return counts


@contextmanager
def _insertion_order(conn: duckdb.DuckDBPyConnection, kept: bool) -> Iterator[None]:
    """Without insertion order to keep, DuckDB writes a long table on every core (the
    3.5 million census values of France: twice as fast)."""
    if kept:
        yield
        return
    conn.execute("set preserve_insertion_order = false")
    try:
        yield
    finally:
        conn.execute("reset preserve_insertion_order")


def _kind(model: Model) -> str:
    if model.materialized not in KINDS:
        raise ConfigurationError(
            f"matérialisation inconnue « {model.materialized} » pour le modèle {model.table}",
            where=_where(model),
            action="écrivez `-- materialized: table` (par défaut) ou `-- materialized: view`",
        )
    return model.materialized


def _drop_other_kind(conn: duckdb.DuckDBPyConnection, model: Model, kind: str) -> None:
    """A model that changed kind since the warehouse was built: drop its old table or view
    (`create or replace` does not replace one kind by the other)."""
    other = "view" if kind == "table" else "table"
    if f"{model.layer}.{model.name}" in _relations(conn, other):
        conn.execute(f"drop {other} {model.quoted}")


_CATALOG = {
    "table": "select schema_name, table_name from duckdb_tables()",
    "view": "select schema_name, view_name from duckdb_views() where not internal",
}


def _relations(conn: duckdb.DuckDBPyConnection, kind: str) -> set[str]:
    return {f"{schema}.{name}" for schema, name in conn.execute(_CATALOG[kind]).fetchall()}


def _where(model: Model) -> str:
    """The model's file, from the project root when it is one of the project's."""
    if model.path.is_relative_to(SQL_DIR.parent):
        return str(model.path.relative_to(SQL_DIR.parent))
    return str(model.path)


def existing_tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """Every table (or model built as a view) of the warehouse, as `schema.table`."""
    return _relations(conn, "table") | _relations(conn, "view")


def _require_raw_tables(conn: duckdb.DuckDBPyConnection, model: Model) -> None:
    existing = existing_tables(conn)
    missing = sorted(
        ref for ref in model.references() if ref.startswith("raw.") and ref not in existing
    )
    if missing:
        sources = ", ".join(ref.split(".", 1)[1] for ref in missing)
        raise InvalidData(
            f"le modèle {model.table} lit {', '.join(missing)}, jamais chargée(s) dans l'entrepôt",
            where=_where(model),
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
