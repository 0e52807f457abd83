"""Small helpers to run the SQL files of `warehouse/` with DuckDB."""

from __future__ import annotations

from pathlib import Path

from tasks.core.settings import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "warehouse"


def quote_ident(name: str) -> str:
    """Quote an identifier taken from the registry or a file header."""
    return '"' + name.replace('"', '""') + '"'


def read_sql(relative: str) -> str:
    return (SQL_DIR / relative).read_text(encoding="utf-8")


def sql_files(folder: str) -> list[Path]:
    return sorted((SQL_DIR / folder).glob("*.sql"))
