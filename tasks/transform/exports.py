"""Write one CSV per mart for the run's territory (UTF-8, comma, decimal point): the
rows of its communes (`dans_territoire` of intermediate.int_communes), or of the EPCI
itself for the EPCI mart. The warehouse keeps all of France.

Files are first written beside their final name (`.partiel`) from the candidate
warehouse, inside the atomic refresh; they replace the published files together,
only once the candidate has become the warehouse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

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
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob(f"*{PARTIAL}"):
        leftover.unlink()
    staged = []
    for mart in marts:
        export = Export(mart, folder / f"{mart}.csv", 0)
        relation = conn.table(f"marts.{quote_ident(mart)}").filter(_in_territory(conn, mart))
        relation.write_csv(str(export.partial), header=True, sep=",")
        staged.append(Export(mart, export.path, len(relation)))
    return staged


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
