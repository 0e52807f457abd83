"""Generations of the warehouse, damaged files, restoration (tasks/core/warehouse.py), and
an exports folder that cannot be written (tasks/transform/exports.py): real DuckDB files
on disk, no Prefect."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from tasks.core import damage as files
from tasks.core import warehouse as store
from tasks.core.errors import OpenDataError
from tasks.transform import exports


def make(path, edition: int):
    """A small warehouse whose state is its edition number (meta + marts, as a real one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema if not exists meta; create schema if not exists marts")
        conn.execute(
            "create or replace table meta.chargements as select 'insee_comparateur' "
            "as source_id, ? as millesime, now() as charge_le",
            [edition],
        )
        conn.execute(
            "create or replace table marts.communes as "
            "select range as code, hash(range) as valeur, ? as edition from range(50000)",
            [edition],
        )
    return path


def edition(path) -> int:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute("select max(edition) from marts.communes").fetchall()[0][0]


def refresh(warehouse, new_edition: int, keep: int = 3) -> None:
    """What a successful refresh does to the files: build a candidate, promote it."""
    with store._exclusive(warehouse):
        candidate = store.start_candidate(warehouse)
        make(candidate, new_edition)
        store.promote(candidate, warehouse, keep)


@pytest.fixture
def warehouse(tmp_path):
    return make(tmp_path / "entrepot" / "opendata.duckdb", 1)


def editions(warehouse) -> list[int]:
    return [edition(g.path) for g in store.generations(warehouse)]


# Generations ------------------------------------------------------------------------------
def test_a_promotion_keeps_the_outgoing_warehouse_as_a_hard_link(warehouse):
    outgoing = warehouse.stat().st_ino
    refresh(warehouse, 2)
    [generation] = store.generations(warehouse)
    assert generation.number == 1 and generation.path.parent == warehouse.parent / "generations"
    assert generation.path.stat().st_ino == outgoing != warehouse.stat().st_ino  # no copy
    assert edition(generation.path) == 1 and edition(warehouse) == 2


def test_only_the_configured_number_of_generations_is_kept(warehouse, monkeypatch):
    for number in range(2, 7):
        refresh(warehouse, number, keep=3)
    assert editions(warehouse) == [5, 4, 3]  # the most recent first
    monkeypatch.setenv("OPENDATA_GENERATIONS", "1")
    with store.candidate(warehouse) as path:  # the setting, as a refresh reads it
        make(path, 7)
    assert editions(warehouse) == [6]
    refresh(warehouse, 8, keep=0)
    assert editions(warehouse) == [] and edition(warehouse) == 8


def test_a_swap_killed_before_the_rename_leaves_no_false_generation(warehouse):
    # What a kill -9 between the link and the rename leaves: a pending second name of
    # the warehouse in service (tests/test_faults.py kills a real run there).
    pending = store._retire(warehouse, 3)
    assert pending.stat().st_ino == warehouse.stat().st_ino
    store.start_candidate(warehouse)
    assert not pending.exists() and store.generations(warehouse) == []
    assert edition(warehouse) == 1


def test_a_swap_killed_after_the_rename_keeps_the_previous_warehouse(warehouse):
    pending = store._retire(warehouse, 3)
    candidate = make(store.candidate_path(warehouse), 2)
    os.replace(candidate, warehouse)  # killed right after this
    store.start_candidate(warehouse)
    assert not pending.exists() and editions(warehouse) == [1]


# Damaged files ----------------------------------------------------------------------------
def truncated(path):
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)


def header_overwritten(path):
    with path.open("r+b") as f:
        f.write(b"\0" * 64)


def checksum_wrong(path):
    with path.open("r+b") as f:
        f.seek(4096)
        f.write(b"\xff" * 8192)


def emptied(path):
    path.write_bytes(b"")


def foreign_wal(path):
    """The .wal of another database beside it (a copy gone wrong)."""
    other = path.with_name("autre.duckdb")
    code = (
        "import duckdb, os, signal, sys; c = duckdb.connect(sys.argv[1]); "
        "c.execute(\"set checkpoint_threshold = '1TB'\"); c.execute('create table t (i int)'); "
        "c.execute('insert into t values (1)'); os.kill(os.getpid(), signal.SIGKILL)"
    )
    subprocess.run([sys.executable, "-c", code, str(other)], check=False)
    os.replace(store.wal_path(other), store.wal_path(path))


DAMAGES = {
    truncated: "fichier tronqué : sa fin manque",
    header_overwritten: "ce n'est pas un fichier DuckDB valide",
    checksum_wrong: "un bloc du fichier est corrompu",
    emptied: "ce n'est pas un fichier DuckDB valide",
    foreign_wal: "son journal d'écriture (.wal) ne lui correspond pas",
}


@pytest.mark.parametrize(("damage", "reason"), DAMAGES.items(), ids=[d.__name__ for d in DAMAGES])
def test_a_damaged_warehouse_is_said_in_french_with_the_command_that_restores_it(
    warehouse, damage, reason
):
    damage(warehouse)
    with pytest.raises(files.WarehouseDamaged) as error:
        files.check_readable(warehouse)
    message = error.value.message
    assert message.startswith("Entrepôt endommagé : le fichier de l'entrepôt est illisible")
    assert reason in message and f"Où : {warehouse}" in message
    assert "`opendata-mel restaurer`" in message and "`opendata-mel restaurer --liste`" in message
    # the refresh stops before copying it: no candidate built from a damaged file
    with pytest.raises(files.WarehouseDamaged):
        store.start_candidate(warehouse)
    assert not store.candidate_path(warehouse).exists()


def test_a_warehouse_held_by_a_writer_is_not_called_damaged(warehouse):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('ok', flush=True); time.sleep(60)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(OpenDataError) as error:
            files.open_checked(warehouse)
    finally:
        holder.kill()
        holder.wait()
    assert not isinstance(error.value, files.WarehouseDamaged)
    assert "ouvert par un autre programme" in error.value.message


# Restoring --------------------------------------------------------------------------------
def test_a_damaged_warehouse_is_set_aside_and_the_last_generation_restored(warehouse):
    refresh(warehouse, 2)
    refresh(warehouse, 3)
    truncated(warehouse)
    damaged_bytes = warehouse.read_bytes()
    generation = store.generations(warehouse)[0]
    kept_bytes = generation.path.read_bytes()

    restored = store.restore(warehouse, keep=3)

    assert edition(warehouse) == 2
    assert restored.damaged == warehouse.with_name("opendata.endommage.duckdb")
    assert restored.damaged.read_bytes() == damaged_bytes  # never deleted, as it was
    # a copy: the generation stays as it was, whatever is written in service next
    assert generation.path.read_bytes() == kept_bytes
    assert generation.path.stat().st_ino != warehouse.stat().st_ino
    assert editions(warehouse) == [2, 1]
    text = restored.text()
    assert "Entrepôt restauré : génération 1 (opendata." in text
    assert "Entrepôt endommagé mis de côté pour examen" in text and "opendata-mel refresh" in text

    emptied(warehouse)  # damaged again: the first damaged file is not overwritten
    second = store.restore(warehouse, 2, keep=3)
    assert edition(warehouse) == 1
    assert second.damaged != restored.damaged and restored.damaged.read_bytes() == damaged_bytes
    assert second.damaged.name.startswith("opendata.endommage.") and second.damaged.exists()


def test_restoring_a_sound_warehouse_keeps_it_as_the_newest_generation(warehouse):
    refresh(warehouse, 2)
    restored = store.restore(warehouse, keep=3)  # back to edition 1
    assert edition(warehouse) == 1 and restored.damaged is None
    assert editions(warehouse) == [2, 1]
    assert "gardé comme génération 1" in restored.text()
    store.restore(warehouse, keep=3)  # and back again
    assert edition(warehouse) == 2


def test_a_restoration_that_cannot_be_done_changes_nothing(warehouse):
    before = warehouse.read_bytes()
    with pytest.raises(OpenDataError) as error:
        store.restore(warehouse)
    assert "aucune génération de l'entrepôt n'est gardée" in error.value.message
    refresh(warehouse, 2)
    before = warehouse.read_bytes()
    with pytest.raises(OpenDataError) as error:
        store.restore(warehouse, 4)
    assert "pas de génération 4 : 1 gardée(s)" in error.value.message
    truncated(store.generations(warehouse)[0].path)
    with pytest.raises(files.WarehouseDamaged) as error:
        store.restore(warehouse)
    assert str(store.generations(warehouse)[0].path) in error.value.message
    assert warehouse.read_bytes() == before
    assert not store.candidate_path(warehouse).exists()


def test_the_list_shows_each_generation_and_whether_it_can_be_read(warehouse):
    refresh(warehouse, 2)
    refresh(warehouse, 3)
    truncated(store.generations(warehouse)[1].path)
    text = store.describe(warehouse, 3)
    assert (
        f"Entrepôt en service : {warehouse} — " in text and ", lisible, dernier chargement" in text
    )
    assert "Générations gardées (3 au plus, OPENDATA_GENERATIONS)" in text
    lines = text.splitlines()
    assert lines[2].startswith("  1. opendata.") and ", lisible, " in lines[2]
    assert lines[3].startswith("  2. opendata.") and "ENDOMMAGÉ : " in lines[3]
    assert "`opendata-mel restaurer --generation N`" in text


# An exports folder that cannot be written -------------------------------------------------
def test_an_exports_folder_under_a_regular_file_is_said_in_french(tmp_path):
    # A failure root meets too: the permissions of a folder do not stop root.
    (tmp_path / "data").write_text("un fichier, pas un dossier")
    folder = tmp_path / "data" / "outputs"
    with pytest.raises(OpenDataError) as error:
        exports.check_writable(folder)
    message = error.value.message
    assert "impossible d'écrire les exports : un fichier ordinaire est à la place" in message
    assert f"Où : {folder}" in message and "OPENDATA_DATA_DIR" in message
    assert "l'entrepôt et les exports précédents n'ont pas été modifiés" in message
    with duckdb.connect() as conn, pytest.raises(OpenDataError):
        exports.stage(conn, [], folder)


def test_a_sound_file_that_cannot_be_opened_now_is_not_called_damaged(warehouse):
    # DuckDB's own words, as it raises them (the lock case is tried for real above).
    for text, words in (
        ('IO Error: Cannot open file "x": Permission denied', "droits insuffisants"),
        ("IO Error: Trying to read a database file with version number 99", "autre version"),
    ):
        error = files.unreadable(warehouse, duckdb.IOException(text))
        assert not isinstance(error, files.WarehouseDamaged) and words in error.message
        assert "restaurer" not in error.message


def test_a_restoration_keeps_the_replaced_warehouse_even_without_generations(warehouse):
    refresh(warehouse, 2)
    store.restore(warehouse, keep=0)
    assert edition(warehouse) == 1 and editions(warehouse) == [2]
