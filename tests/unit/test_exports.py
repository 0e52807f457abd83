"""CSV exports of the marts (tasks/transform/exports.py): staged beside their final name,
they appear only at commit; a failed stage leaves the published files as they were."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from tasks.core.errors import ConfigurationError
from tasks.sources import load
from tasks.transform import exports
from tests.unit.conftest import build_models, mel_members, scalar

MARTS = ["communes", "population"]


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def served(warehouse):
    with duckdb.connect(str(warehouse)) as connection:
        yield connection


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "outputs"


def test_staged_files_wait_beside_their_final_name(served, folder):
    staged = exports.stage(served, MARTS, folder)
    assert [e.mart for e in staged] == MARTS
    for export in staged:
        assert export.path == folder / f"{export.mart}.csv"
        assert export.partial == folder / f"{export.mart}.csv.partiel"
        assert export.partial.is_file() and not export.path.exists()


def test_committed_files_hold_the_mel_communes_only(served, folder):
    committed = exports.commit(exports.stage(served, MARTS, folder))
    members = mel_members()
    for export in committed:
        assert not export.partial.exists()
        rows = read_csv(export.path)
        assert export.rows == len(rows) == len(members)
        assert sorted(r["code_commune"] for r in rows) == members
        assert {r["is_mel"] for r in rows} == {"true"}
        assert list(rows[0]) == served.table(f"marts.{export.mart}").columns


def test_numbers_are_written_with_a_decimal_point_and_comma_separated(served, folder):
    [export] = exports.commit(exports.stage(served, ["population"], folder))
    header = export.path.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == served.table("marts.population").columns
    lille = next(r for r in read_csv(export.path) if r["code_commune"] == "59350")
    expected = scalar(
        served, "select taux_natalite from marts.population where code_commune = '59350'"
    )
    assert lille["taux_natalite"] == repr(expected)  # e.g. 14.83…, never 14,83


def test_leftovers_of_an_interrupted_stage_are_cleared(served, folder):
    folder.mkdir()
    leftover = folder / "epci.csv.partiel"
    leftover.write_text("interrompu", encoding="utf-8")
    exports.stage(served, ["communes"], folder)
    assert not leftover.exists()


def test_a_failed_stage_leaves_the_previous_exports(served, folder):
    previous = exports.commit(exports.stage(served, MARTS, folder))
    before = {e.path: e.path.read_bytes() for e in previous}
    served.execute("delete from marts.communes where code_commune = '59350'")
    with pytest.raises(duckdb.CatalogException):
        exports.stage(served, ["communes", "absent"], folder)
    assert {e.path: e.path.read_bytes() for e in previous} == before


def test_a_commit_replaces_the_previous_file(served, folder):
    exports.commit(exports.stage(served, ["communes"], folder))
    served.execute("delete from marts.communes where code_commune = '59350'")
    [again] = exports.commit(exports.stage(served, ["communes"], folder))
    codes = [r["code_commune"] for r in read_csv(again.path)]
    assert "59350" not in codes and again.rows == len(codes)


def test_a_commune_as_territory_exports_its_rows_and_its_epci(served, folder, registry):
    # the territory is a run parameter: the warehouse keeps France, the files follow it
    load.record_execution(served, registry, "59522", 2026)
    build_models(served, "int_communes")
    committed = exports.commit(exports.stage(served, [*MARTS, "epci"], folder))
    by_mart = {e.mart: read_csv(e.path) for e in committed}
    assert [r["code_commune"] for r in by_mart["communes"]] == ["59522"]
    assert [r["code_commune"] for r in by_mart["population"]] == ["59522"]
    assert [r["code_epci"] for r in by_mart["epci"]] == ["200093201"]
    assert by_mart["communes"][0]["dans_territoire"] == "true"


def test_an_unknown_territory_is_refused_in_french(served, registry):
    with pytest.raises(ConfigurationError) as error:
        load.record_execution(served, registry, "00000", 2026)
    assert "territoire « 00000 » inconnu du COG 2026" in error.value.message
    with pytest.raises(ConfigurationError) as error:
        load.record_execution(served, registry, None, 2023)
    assert "le référentiel national du COG 2023 n'est pas dans l'entrepôt" in error.value.message
