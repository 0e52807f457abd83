"""The atomic refresh (tasks/transform/warehouse.py): a candidate copy swapped in only on
success, the last validated version kept for a blocked mart, one refresh at a time."""

from __future__ import annotations

import fcntl

import duckdb
import pytest

from tasks.core import warehouse as atomic
from tasks.core.errors import OpenDataError
from tests.unit.conftest import scalar

LILLE = "59350"


def count(path, query: str):
    with duckdb.connect(str(path), read_only=True) as connection:
        return scalar(connection, query)


def lille_rows(path, schema: str = "marts") -> int:
    return count(path, f"select count(*) from {schema}.communes where code_commune = '{LILLE}'")


def damage(candidate, *statements: str) -> None:
    with atomic.connect(candidate) as connection:
        for statement in statements:
            connection.execute(statement)


def schemas(path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {
            row[0]
            for row in connection.execute("select schema_name from duckdb_schemas()").fetchall()
        }


DROP_LILLE = f"delete from marts.communes where code_commune = '{LILLE}'"


# The candidate --------------------------------------------------------------------------
def test_a_successful_build_replaces_the_warehouse(warehouse):
    with atomic.candidate(warehouse) as path:
        assert path == atomic.candidate_path(warehouse) and path != warehouse
        assert lille_rows(path) == 1  # a copy of the warehouse in service
        damage(path, DROP_LILLE)
        assert lille_rows(warehouse) == 1  # untouched while building
    assert lille_rows(warehouse) == 0
    assert not atomic.candidate_path(warehouse).exists()


def test_an_error_inside_the_candidate_leaves_the_warehouse_unchanged(warehouse):
    before = warehouse.read_bytes()
    with pytest.raises(RuntimeError, match="modèle en erreur"), atomic.candidate(warehouse) as path:
        damage(path, DROP_LILLE, "drop table marts.population")
        raise RuntimeError("modèle en erreur")
    assert warehouse.read_bytes() == before
    rejected = atomic.rejected_path(warehouse)
    assert rejected.name == "opendata.rejete.duckdb"
    assert lille_rows(rejected) == 0  # kept for inspection, as it was left
    assert not atomic.candidate_path(warehouse).exists()


def test_a_first_refresh_starts_from_an_empty_candidate(tmp_path):
    warehouse = tmp_path / "entrepot" / "opendata.duckdb"
    path = atomic.start_candidate(warehouse)
    assert path.parent.is_dir() and not path.exists()
    assert atomic.set_aside(path, warehouse) is None


def test_a_leftover_candidate_of_a_crashed_run_is_not_reused(warehouse):
    leftover = atomic.candidate_path(warehouse)
    leftover.write_bytes(b"restes d'une execution interrompue")
    path = atomic.start_candidate(warehouse)
    assert path.read_bytes() == warehouse.read_bytes()


# One refresh at a time ------------------------------------------------------------------
def test_a_second_refresh_is_refused_while_the_lock_is_held(warehouse):
    lock = warehouse.with_name(warehouse.name + ".lock")
    with lock.open("w") as other:  # another process's lock: its own open file
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(OpenDataError) as error, atomic.candidate(warehouse):
            pass
    assert "un autre rafraîchissement est en cours sur cet entrepôt" in error.value.message
    assert "rien n'a été modifié" in error.value.message
    assert not atomic.candidate_path(warehouse).exists()


def test_the_steps_of_a_run_take_the_lock_it_holds_again(warehouse):
    with atomic.locked(warehouse), atomic.candidate(warehouse) as path, atomic.locked(warehouse):
        damage(path, DROP_LILLE)
    assert lille_rows(warehouse) == 0
    with atomic.locked(warehouse):  # released at the end
        pass


# Keep validated ---------------------------------------------------------------------------
def test_a_blocked_mart_keeps_its_validated_version_and_the_refused_one_goes_to_rejets(
    warehouse,
):
    with atomic.candidate(warehouse) as path:
        damage(
            path,
            DROP_LILLE,
            f"delete from marts.population where code_commune = '{LILLE}'",
        )
        atomic.keep_validated(path, warehouse, ["communes"])
    assert lille_rows(warehouse) == 1  # the version in service came back
    assert (
        count(warehouse, "select count(*) from marts.communes")
        == count(warehouse, "select count(*) from rejets.communes") + 1
    )
    assert lille_rows(warehouse, "rejets") == 0  # the refused version, for inspection
    # a mart not blocked goes on with its new version
    assert (
        count(warehouse, f"select count(*) from marts.population where code_commune = '{LILLE}'")
        == 0
    )


def test_a_blocked_mart_never_validated_is_left_empty_in_its_new_layout(warehouse):
    with atomic.candidate(warehouse) as path:
        damage(path, "create table marts.nouveau as select 1 as code_commune, 'x' as nom")
        atomic.keep_validated(path, warehouse, ["nouveau"])
    assert count(warehouse, "select count(*) from marts.nouveau") == 0
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.table("marts.nouveau").columns == ["code_commune", "nom"]
    assert count(warehouse, "select count(*) from rejets.nouveau") == 1


def test_the_rejects_of_the_previous_run_go_when_nothing_is_blocked(warehouse):
    with atomic.candidate(warehouse) as path:
        damage(path, DROP_LILLE)
        atomic.keep_validated(path, warehouse, ["communes"])
    assert "rejets" in schemas(warehouse)
    with atomic.candidate(warehouse) as path:
        atomic.keep_validated(path, warehouse, [])
    assert "rejets" not in schemas(warehouse)
