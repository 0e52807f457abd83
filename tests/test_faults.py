"""Faults of the refresh tried for real: `opendata-mel` in its own process (on the
session's Prefect API), killed with SIGKILL at chosen moments (tests/fault_cli.py), a
damaged warehouse file, an exports folder that cannot be written, two refreshes at once.
Nothing is lost: the warehouse in service and the exports stay as they were, and the
next run cleans what the dead one left and completes."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import duckdb
import pytest

from tasks.core import warehouse as atomic
from tests.conftest import COMPARATEUR, ROOT

pytestmark = pytest.mark.usefixtures("prefect_api")

SOURCES = ("--sources", "insee_comparateur")  # the smallest refresh with every phase
LILLE_PIMP21 = (
    "select valeur from marts.comparateur where code_commune = '59350' "
    "and code_indicateur = 'PIMP21'"
)


def cli_env(tmp_path: Path) -> dict[str, str]:
    """The test's workspace (OPENDATA_*), and the session's Prefect API: no ephemeral
    server to start in the process (~15 s each)."""
    from prefect.settings import PREFECT_API_URL

    return {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "FAULT_MARK": str(tmp_path / "moment-atteint"),
        "FAULT_GO": str(tmp_path / "continuer"),
    }


def opendata(*args: str, tmp_path: Path, **options) -> subprocess.CompletedProcess:
    options.setdefault("env", cli_env(tmp_path))
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **options,
    )


def with_fault(moment: str, action: str, *args: str, tmp_path: Path) -> subprocess.Popen:
    """`opendata-mel` through tests/fault_cli.py; its output goes to files (a full pipe
    would stop a process the test is not reading yet)."""
    log = tmp_path / f"journal-{time.monotonic_ns()}"
    with log.with_suffix(".out").open("w") as out, log.with_suffix(".err").open("w") as err:
        run = subprocess.Popen(
            [sys.executable, "-m", "tests.fault_cli", moment, action, "--", *args],
            cwd=ROOT,
            env=cli_env(tmp_path),
            stdout=out,
            stderr=err,
            text=True,
        )
    run.log = log
    return run


def ended(run: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
    run.wait(timeout=timeout)
    return run.log.with_suffix(".out").read_text(), run.log.with_suffix(".err").read_text()


def state(warehouse: Path) -> dict[str, tuple]:
    """Every table of the warehouse: its row count and a checksum of its rows."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        tables = conn.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        return {
            f"{schema}.{table}": conn.execute(
                f'select count(*), bit_xor(hash(t)) from "{schema}"."{table}" t'
            ).fetchall()[0]
            for schema, table in tables
        }


def exports(outputs: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(outputs.glob("*.csv"))}


def files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def paths(workspace: Path) -> tuple[Path, Path]:
    return workspace / "entrepot" / "opendata.duckdb", workspace / "data" / "outputs"


def change_lille(mirror_dir: Path) -> None:
    """Serve a newer comparateur (never answered by a 304) where Lille's PIMP21 is 42."""
    served = mirror_dir / COMPARATEUR
    with zipfile.ZipFile(served) as archive:
        lines = archive.read("base_cc_comparateur.csv").decode("utf-8").splitlines()
    header = lines[0].split(";")
    for index, line in enumerate(lines):
        fields = line.split(";")
        if fields[0] == "59350":
            fields[header.index("PIMP21")] = "42"
            lines[index] = ";".join(fields)
    with zipfile.ZipFile(served, "w") as archive:
        archive.writestr("base_cc_comparateur.csv", "\n".join(lines) + "\n")
    later = time.time() + 60
    os.utime(served, (later, later))


def query(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


# kill -9, then two refreshes at once ------------------------------------------------------
KILL_MOMENTS = ("chargement", "modeles", "bascule")  # the load, the model build, the swap


def test_refreshes_killed_at_each_moment_lose_nothing_then_of_two_at_once_one_completes(
    refreshed, mirror_dir, tmp_path
):
    """One bad day, in order: a refresh killed during its load, the next during its model
    build, the next during its swap; then the operator and the scheduler start one each,
    together. Each run starts on what the previous one left; one run (the last) does the
    work of completing, to keep the suite short."""
    warehouse, outputs = paths(refreshed)
    before, exported = state(warehouse), exports(outputs)
    change_lille(mirror_dir)  # a refresh that completes changes the warehouse

    for moment in KILL_MOMENTS:
        started = time.monotonic()
        killed = with_fault(moment, "tuer", "refresh", *SOURCES, tmp_path=tmp_path)
        _, stderr = ended(killed)
        assert killed.returncode == -signal.SIGKILL, stderr
        assert (tmp_path / "moment-atteint").read_text() == moment  # killed where meant
        left = sorted(files(warehouse.parent)) + [p.name for p in outputs.glob("*.partiel")]
        print(f"tué à « {moment} » ({time.monotonic() - started:.1f} s), laissé : {left}")
        assert "opendata.en_cours.duckdb" in left  # what the dead run was building
        assert state(warehouse) == before and exports(outputs) == exported

    (tmp_path / "moment-atteint").unlink()
    stdout, stderr = two_at_once(tmp_path, warehouse, before, outputs, exported)

    assert "Communes de la MEL trouvées : 95" in stdout, stderr
    assert query(warehouse, LILLE_PIMP21) == [(42.0,)]
    assert b"42.0" in exports(outputs)["comparateur.csv"]
    left = files(warehouse.parent)
    assert not [name for name in left if "en_cours" in name or name.endswith(".wal")], left
    assert not list(outputs.glob("*.partiel"))
    [generation] = atomic.generations(warehouse)  # the previous warehouse, whole
    assert state(generation.path) == before


def two_at_once(tmp_path, warehouse, before, outputs, exported) -> tuple[str, str]:
    """Two refreshes started together. Both would wait once they hold the lock: the
    first to take it holds it while the other is refused, then completes."""
    started = time.monotonic()
    runs = [
        with_fault("verrou", "attendre", "refresh", *SOURCES, tmp_path=tmp_path) for _ in (1, 2)
    ]
    try:
        refused = _first_to_end(runs, timeout=120)
        holder = next(run for run in runs if run is not refused)
        _, stderr = ended(refused)
        print(f"refusé ({time.monotonic() - started:.1f} s) :\n{_last_message(stderr)}")
        assert refused.returncode == 1, stderr
        assert _last_message(stderr).startswith(
            "ÉCHEC du rafraîchissement.\nErreur : un autre rafraîchissement est en cours sur "
            f"cet entrepôt\n  Où : {warehouse}\n"
        )
        assert stderr.rstrip().endswith("rien n'a été modifié")
        assert holder.poll() is None and (tmp_path / "moment-atteint").exists()
        assert state(warehouse) == before and exports(outputs) == exported
        (tmp_path / "continuer").touch()
        stdout, stderr = ended(holder)
        print(f"terminé : {time.monotonic() - started:.1f} s")
    finally:
        for run in runs:
            run.kill()
            run.wait()
    assert holder.returncode == 0, stderr
    return stdout, stderr


def _first_to_end(runs: list[subprocess.Popen], timeout: float) -> subprocess.Popen:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in runs:
            if run.poll() is not None:
                return run
        time.sleep(0.1)
    raise AssertionError("aucun des deux rafraîchissements ne s'est terminé")


def _last_message(stderr: str) -> str:
    """What the CLI says last (a flow's run log, before it, has Prefect's traceback)."""
    return stderr[stderr.rindex("ÉCHEC") :]


# A damaged warehouse ----------------------------------------------------------------------
def test_a_truncated_warehouse_is_said_in_french_and_restored_from_its_generation(
    refreshed, tmp_path
):
    warehouse, _ = paths(refreshed)
    with atomic.candidate(warehouse):  # a successful refresh: generation 1 is kept
        pass
    before = state(warehouse)
    with warehouse.open("r+b") as f:  # a copy cut short, a disk full…
        f.truncate(warehouse.stat().st_size // 2)
    damaged = warehouse.read_bytes()
    site = tmp_path / "site"

    for command in (
        ("sql", "select count(*) from marts.communes"),
        ("qualite",),
        ("site", "--commune", "59522", "--out", str(site)),
        ("refresh", *SOURCES),
    ):
        started = time.monotonic()
        done = opendata(*command, tmp_path=tmp_path)
        print(f"{command[0]} : {time.monotonic() - started:.1f} s")
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        message = _last_message(done.stderr)
        assert command[0] == "refresh" or "Traceback" not in done.stderr, done.stderr
        assert (
            "\nEntrepôt endommagé : le fichier de l'entrepôt est illisible : fichier tronqué : "
            "sa fin manque (DuckDB : IO Error: Could not read enough bytes" in message
        ), message
        assert f"\n  Où : {warehouse}\n" in message
        assert message.rstrip().endswith(
            "Que faire : remettez en service la dernière génération valide : "
            "`opendata-mel restaurer` (les générations gardées : `opendata-mel restaurer "
            "--liste`) ; le fichier endommagé est gardé à côté pour examen, jamais effacé"
        )
        print(message)
    assert warehouse.read_bytes() == damaged
    assert not atomic.candidate_path(warehouse).exists()
    assert not atomic.rejected_path(warehouse).exists() and not site.exists()

    listed = opendata("restaurer", "--liste", tmp_path=tmp_path)
    assert listed.returncode == 0, listed.stderr
    print(listed.stdout)
    assert "ENDOMMAGÉ : le fichier de l'entrepôt est illisible" in listed.stdout
    assert "  1. opendata." in listed.stdout and "lisible, dernier chargement le" in listed.stdout

    restored = opendata("restaurer", tmp_path=tmp_path)
    assert restored.returncode == 0, restored.stderr
    print(restored.stdout)
    assert "Entrepôt restauré : génération 1" in restored.stdout
    aside = warehouse.with_name("opendata.endommage.duckdb")
    assert f"Entrepôt endommagé mis de côté pour examen : {aside}" in restored.stdout
    assert aside.read_bytes() == damaged  # kept for inspection
    assert state(warehouse) == before
    assert opendata("sql", "select 1", tmp_path=tmp_path).returncode == 0


# An exports folder that cannot be written -------------------------------------------------
def without_override_privilege() -> None:
    """In the child, before exec: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the
    bounding set, so that root obeys the permissions as a service account does (root
    writes in a folder without the write permission)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def unwritable_exports(workspace: Path) -> tuple[dict, str, Path]:
    """The exports folder made unwritable for the refresh about to run: its options, the
    reason it will give, and the folder it will name."""
    outputs = workspace / "data" / "outputs"
    outputs.chmod(0o555)
    if os.geteuid() != 0:
        return {}, "droits insuffisants", outputs
    try:  # root: the same folder, for a process without the override privilege
        subprocess.run(["true"], preexec_fn=without_override_privilege, check=True)
        return {"preexec_fn": without_override_privilege}, "droits insuffisants", outputs
    except (OSError, subprocess.SubprocessError):  # not allowed here: a file in the way
        (workspace / "partage").write_text("un fichier, pas un dossier")
        data = workspace / "partage" / "data"
        env = {"OPENDATA_DATA_DIR": str(data)}
        return {"env": env}, "un fichier ordinaire est à la place", data / "outputs"


def test_an_exports_folder_that_cannot_be_written_changes_nothing(refreshed, mirror_dir, tmp_path):
    warehouse, outputs = paths(refreshed)
    before, exported = state(warehouse), exports(outputs)
    change_lille(mirror_dir)
    options, reason, folder = unwritable_exports(refreshed)
    options["env"] = {**cli_env(tmp_path), **options.get("env", {})}
    try:
        done = opendata("refresh", *SOURCES, tmp_path=tmp_path, **options)
    finally:
        outputs.chmod(0o755)
    print(done.stderr[done.stderr.index("ÉCHEC") :])
    assert done.returncode == 1, done.stderr
    assert f"ÉCHEC du rafraîchissement.\nErreur : impossible d'écrire les exports : {reason}" in (
        done.stderr
    )
    assert f"Où : {folder}" in done.stderr
    assert "l'entrepôt et les exports précédents n'ont pas été modifiés" in done.stderr
    assert state(warehouse) == before and exports(outputs) == exported
    assert not {"opendata.en_cours.duckdb", "opendata.rejete.duckdb"} & files(warehouse.parent)
