"""Models built as views (`-- materialized: view`): what a data officer sees in the
warehouse, and the switch from one kind to the other on an existing warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tasks.core.errors import ConfigurationError
from tasks.transform import models


def write_models(root: Path, files: dict[str, str]) -> list[models.Model]:
    for name, sql in files.items():
        path = root / f"{name}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql, encoding="utf-8")
    return models.discover(root)


@pytest.fixture
def conn():
    connection = duckdb.connect()
    for schema in ("raw", "staging", "marts"):
        connection.execute(f"create schema {schema}")
    connection.execute("create table raw.valeurs as select range as v from range(5)")
    yield connection
    connection.close()


def kinds(conn) -> dict[str, str]:
    rows = conn.execute(
        "select schema_name || '.' || table_name, 'table' from duckdb_tables() "
        "union all select schema_name || '.' || view_name, 'view' from duckdb_views() "
        "where not internal"
    ).fetchall()
    return dict(rows)


def test_a_model_marked_as_a_view_is_a_view_read_by_the_next(conn, tmp_path):
    every = write_models(
        tmp_path,
        {
            "staging/stg_valeurs": "-- materialized: view\nselect v * 2 as w from raw.valeurs",
            "marts/valeurs": "select sum(w) as total from staging.stg_valeurs",
        },
    )
    counts = models.build(conn, every)
    assert counts == {"staging.stg_valeurs": 5, "marts.valeurs": 1}
    assert kinds(conn) == {
        "raw.valeurs": "table",
        "staging.stg_valeurs": "view",
        "marts.valeurs": "table",
    }
    assert conn.execute("select total from marts.valeurs").fetchall() == [(20,)]
    assert "staging.stg_valeurs" in models.existing_tables(conn)


def test_a_model_that_changed_kind_replaces_the_old_table_or_view(conn, tmp_path):
    table = "select v from raw.valeurs"
    for sql, kind in (
        (table, "table"),
        ("-- materialized: view\n" + table, "view"),
        (table, "table"),
    ):
        models.build(conn, write_models(tmp_path, {"staging/stg_valeurs": sql}))
        assert kinds(conn)["staging.stg_valeurs"] == kind


def test_an_unknown_kind_is_refused_in_french(conn, tmp_path):
    every = write_models(
        tmp_path, {"staging/stg_valeurs": "-- materialized: ephemeral\nselect 1 as v"}
    )
    with pytest.raises(ConfigurationError) as error:
        models.build(conn, every)
    assert "matérialisation inconnue « ephemeral » pour le modèle staging.stg_valeurs" in str(
        error.value
    )


def test_the_census_cells_are_views_and_the_long_values_one_table():
    kind = {model.table: model.materialized for model in models.discover()}
    assert kind["staging.stg_insee_base_cc"] == kind["staging.stg_insee_comparateur"] == "view"
    assert kind["intermediate.int_valeurs_situees"] == "table"
    assert kind["intermediate.int_valeurs_communes"] == "view"
    assert kind["intermediate.int_recensement"] == "view"
    assert {kind[table] for table in kind if table.startswith("marts.")} == {"table"}
