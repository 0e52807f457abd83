"""`opendata-mel` as a data officer runs it: a real process, Prefect's ephemeral API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLES


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "OPENDATA_MIRROR": str(SAMPLES),  # a local folder mirror, as `make demo` uses
        "OPENDATA_WAREHOUSE": str(tmp_path / "opendata.duckdb"),
        "OPENDATA_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_refresh_prints_a_french_summary_then_sql_reads_the_warehouse(tmp_path):
    done = run("refresh", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Communes de la MEL trouvées : 95 (EPCI 200093201, COG" in done.stdout
    assert "insee_comparateur, millésime 2022 : téléchargé" in done.stdout
    assert "data/outputs/comparateur.csv" in done.stdout.replace(str(tmp_path) + "/", "")

    answer = run(
        "sql",
        "select count(*) = 95 as mel_complete from marts.communes where is_mel",
        tmp_path=tmp_path,
    )
    assert answer.returncode == 0 and "true" in answer.stdout and "false" not in answer.stdout


def test_an_unknown_source_fails_with_a_french_message(tmp_path):
    done = run("refresh", "--sources", "insee_inexistante", tmp_path=tmp_path)
    assert done.returncode == 1
    assert "ÉCHEC du rafraîchissement" in done.stderr
    assert "source(s) inconnue(s) : insee_inexistante" in done.stderr
    assert not (tmp_path / "opendata.duckdb").exists()
