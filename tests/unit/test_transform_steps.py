"""The Prefect tasks of the transform stage, called through `.fn()` (no flow run) on a
warehouse whose raw tables hold the real sample files (tasks/transform/steps.py)."""

from __future__ import annotations

import duckdb
import pytest

from tasks.transform import models, steps
from tests.unit.conftest import (
    COG,
    copy_warehouse,
    mel_members,
    real_communes,
    scalar,
)

BLOCKED = {"communes": "1 attente(s) critique(s) en échec"}


def marts() -> list[str]:
    return [m.name for m in models.discover() if m.layer == "marts"]


@pytest.fixture
def candidate(tmp_path, raw_warehouse_template):
    return copy_warehouse(raw_warehouse_template, tmp_path / "opendata.en_cours.duckdb")


def test_every_model_is_built_from_the_raw_tables(candidate):
    counts = steps.build_models.fn(candidate)
    assert set(counts) == {m.table for m in models.discover()}
    records = real_communes()
    assert counts["marts.communes"] == counts["staging.stg_cog_communes"] == len(records)
    with duckdb.connect(str(candidate), read_only=True) as conn:
        members = scalar(conn, "select count(*) from marts.communes where is_mel")
        assert members == len(mel_members()) == 95
        assert scalar(conn, "select max(millesime_cog) from marts.communes") == COG
        # the census marts hold the MEL communes of the comparateur sample
        assert counts["marts.population"] == members


def test_marts_awaiting_data_are_those_of_sources_never_loaded(warehouse):
    waiting = steps.marts_awaiting_data.fn(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        loaded = {r[0] for r in conn.execute("select source_id from meta.chargements").fetchall()}
        for mart, sources in waiting.items():
            assert scalar(conn, f"select count(*) from marts.{mart}") == 0
            assert sources and not set(sources) & loaded
    # README: no real extract of the CAF, Observatoire, series or subsidies offline
    assert set(waiting) == {
        "caf_prestations",
        "filosofi",
        "observatoire",
        "serie_historique",
        "subventions",
    }


def test_only_validated_marts_with_data_are_staged_for_export(warehouse, tmp_path):
    folder = tmp_path / "outputs"
    waiting = steps.marts_awaiting_data.fn(warehouse)
    staged = steps.stage_exports.fn(warehouse, folder, list(BLOCKED))
    expected = [m for m in marts() if m not in waiting and m not in BLOCKED]
    assert [e.mart for e in staged] == expected
    assert not list(folder.glob("*.csv"))  # nothing published before the commit
    committed = steps.commit_exports.fn(staged)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{m}.csv" for m in expected)
    assert [e.rows for e in committed] == [e.rows for e in staged]


def test_a_blocked_mart_is_put_back_to_its_validated_version(warehouse, tmp_path):
    candidate = copy_warehouse(warehouse, tmp_path / "opendata.en_cours.duckdb")
    with duckdb.connect(str(candidate)) as conn:
        conn.execute("delete from marts.communes where code_commune = '59522'")
    steps.keep_validated_marts.fn(candidate, warehouse, list(BLOCKED))
    with duckdb.connect(str(candidate), read_only=True) as conn:
        query = "select count(*) from {}.communes where code_commune = '59522'"
        assert scalar(conn, query.format("marts")) == 1
        assert scalar(conn, query.format("rejets")) == 0
