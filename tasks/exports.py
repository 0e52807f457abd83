"""Write one CSV per mart for the MEL communes (UTF-8, comma, decimal point)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class Export:
    mart: str
    path: Path
    rows: int


def export_mart(conn: duckdb.DuckDBPyConnection, mart: str, folder: Path) -> Export:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{mart}.csv"
    partial = target.with_suffix(".csv.partiel")
    literal = str(partial).replace("'", "''")
    conn.execute(
        f"copy (select * from marts.{mart} where is_mel) to '{literal}' "
        "(header, delimiter ',', quote '\"')"
    )
    rows = conn.execute(f"select count(*) from marts.{mart} where is_mel").fetchone()[0]
    os.replace(partial, target)
    return Export(mart, target, rows)
