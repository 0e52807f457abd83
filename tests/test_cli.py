"""`opendata-mel` as a data officer runs it: a real process, Prefect's ephemeral API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES


def demo_sources() -> str:
    """The sources `make demo` refreshes (those of the bundled mirror, real files only)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return next(
        line.split(":=", 1)[1].strip()
        for line in makefile.splitlines()
        if line.startswith("DEMO_SOURCES")
    )


def run(*args: str, tmp_path: Path, api: str | None = None) -> subprocess.CompletedProcess:
    """The command in a process of its own; on Prefect's ephemeral API as a data officer
    runs it, or on `api` (the session's Prefect API: no ephemeral server to start)."""
    env = {
        **os.environ,
        "OPENDATA_MIRROR": str(SAMPLES),  # a local folder mirror, as `make demo` uses
        "OPENDATA_WAREHOUSE": str(tmp_path / "opendata.duckdb"),
        "OPENDATA_DATA_DIR": str(tmp_path / "data"),
        **({"PREFECT_API_URL": api} if api else {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.flow  # a refresh, on the ephemeral Prefect API of its own process
def test_refresh_prints_a_french_summary_then_sql_reads_the_warehouse(tmp_path):
    done = run("refresh", "--sources", demo_sources(), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Communes de la MEL trouvées : 95 (EPCI 200093201, COG" in done.stdout
    assert "insee_comparateur, millésime 2022 : téléchargé" in done.stdout
    shown = done.stdout.replace(str(tmp_path) + "/", "")
    for mart in ("population", "familles", "logement"):
        assert f"data/outputs/{mart}.csv (95 lignes, territoire)" in shown
    assert "data/outputs/comparateur.csv (2\u202f945 lignes" in shown
    assert "serie_historique : vide ; parmi les sources qu'il lit, jamais chargées" in shown

    answer = run(
        "sql",
        "select count(*) = 95 as mel_complete from marts.communes where is_mel",
        tmp_path=tmp_path,
    )
    assert answer.returncode == 0 and "true" in answer.stdout and "false" not in answer.stdout

    # the three census themes, from the real counts of the comparateur
    answer = run(
        "sql",
        "select p.population, l.part_logements_vacants, f.menages from marts.population p "
        "join marts.logement l using (millesime, code_commune) "
        "join marts.familles f using (millesime, code_commune) where code_commune = '59522'",
        tmp_path=tmp_path,
    )
    assert answer.returncode == 0, answer.stderr
    assert "1936.0" in answer.stdout and "2.9" in answer.stdout

    # the real cross-check: the 95 communes' P22_POP add up to the MEL's own figure
    answer = run(
        "sql",
        "select nombre_communes, population_municipale, population_communes, ecart_population "
        "from marts.epci where is_mel",
        tmp_path=tmp_path,
    )
    assert re.search(r"│\s+95 │\s+1194040\.0 │\s+1194040\.0 │\s+0\.0 │", answer.stdout)

    # `make quality`: the latest results in French, read back from the warehouse
    report = run("qualite", tmp_path=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "Contrôle qualité : dernière validation le " in report.stdout
    for mart in ("communes", "comparateur", "epci", "familles", "logement", "population"):
        assert re.search(
            rf"^{mart} \(millésime \d{{4}}\) : (\d+)/\1 attentes respectées ; "
            "VALIDÉ$",
            report.stdout,
            re.MULTILINE,
        ), report.stdout
    assert "data/qualite/data-docs/index.html" in report.stdout


def test_millesimes_shows_what_the_insee_catalogue_announces(tmp_path):
    done = run("millesimes", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "insee_serie_historique : millésime 2022 (annoncé : 2022)" in done.stdout
    assert "DS_RP_SERIE_HISTORIQUE_2022_CSV_FR" in done.stdout
    assert "insee_logement : millésime 2022 (annoncé : 2022)" in done.stdout
    assert "insee_populations_legales : millésime 2023 (annoncé : 2023)" in done.stdout
    assert not (tmp_path / "opendata.duckdb").exists()


def session_api() -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def test_a_full_refresh_on_the_bundled_mirror_names_the_missing_census_file(tmp_path, prefect_api):
    done = run("refresh", tmp_path=tmp_path, api=session_api())
    assert done.returncode == 1
    assert "ÉCHEC du rafraîchissement" in done.stderr
    assert "le fichier miroir de https://www.insee.fr/" in done.stderr
    assert "est absent" in done.stderr
    assert not (tmp_path / "opendata.duckdb").exists()


def test_an_unknown_source_fails_with_a_french_message(tmp_path, prefect_api):
    done = run("refresh", "--sources", "insee_inexistante", tmp_path=tmp_path, api=session_api())
    assert done.returncode == 1
    assert "ÉCHEC du rafraîchissement" in done.stderr
    assert "source(s) inconnue(s) : insee_inexistante" in done.stderr
    assert not (tmp_path / "opendata.duckdb").exists()
