"""The `yearly_refresh` flow end to end: real Prefect API, real HTTP mirror, real DuckDB."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from flows.yearly_refresh import yearly_refresh
from tasks.core.errors import (
    ConfigurationError,
    InvalidData,
    InvalidFormat,
    LayoutChanged,
    OpenDataError,
    QualityGateFailed,
)
from tasks.sources.registry import load_registry
from tests.conftest import COG_EPCI, COMPARATEUR
from tests.mirror_server import Scripted

pytestmark = pytest.mark.usefixtures("prefect_api")


def query(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def snapshot(warehouse: Path) -> list:
    return query(
        warehouse,
        "select 'communes', count(*), sum(population_municipale) from marts.communes "
        "union all select 'comparateur', count(*), sum(valeur) from marts.comparateur "
        "union all select 'chargements', count(*), max(charge_le)::varchar from meta.chargements",
    )


@contextmanager
def held_by_another_process(holding_code: str, path: Path):
    """Run `holding_code` (which takes `path` as argv[1]) in another process while inside."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"{holding_code}; print('ok', flush=True); import time; time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        yield
    finally:
        holder.kill()
        holder.wait()


def paths(workspace: Path) -> tuple[Path, Path]:
    return workspace / "entrepot" / "opendata.duckdb", workspace / "data"


def test_refresh_builds_the_marts_from_the_sources(refreshed_template, mirror_template):
    summary, root = refreshed_template  # the session's complete refresh, read only
    warehouse, data = paths(root)

    assert query(warehouse, "select count(*) from marts.communes where is_mel") == [(95,)]
    assert query(
        warehouse,
        "select code_indicateur, valeur, raison_absence from marts.comparateur "
        "where code_commune = '59522' and code_indicateur in ('P22_POP', 'TP6021') order by 1",
    ) == [("P22_POP", 1936.0, None), ("TP6021", None, "secret statistique")]
    assert query(
        warehouse,
        "select code_commune, is_mel from marts.communes where code_commune in ('59355', '59298')",
    ) == [("59298", False), ("59355", False)]
    # Every MEL municipal population of the census equals the one of the COG membership file.
    assert query(
        warehouse,
        "select sum(valeur) from marts.comparateur where is_mel and variable = 'population'",
    ) == [(1194040.0,)]

    with (data / "outputs" / "communes.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 95 and all(row["is_mel"] == "true" for row in rows)
    with (data / "outputs" / "comparateur.csv").open(encoding="utf-8") as f:
        sailly = {
            r["code_indicateur"]: r for r in csv.DictReader(f) if r["code_commune"] == "59522"
        }
    assert sailly["PIMP21"]["valeur"] == "71.0"  # decimal point in the output
    assert (
        sailly["TP6021"]["valeur"] == ""
        and sailly["TP6021"]["raison_absence"] == "secret statistique"
    )

    manifest = list(csv.DictReader((data / "raw" / "manifest.csv").open(encoding="utf-8")))
    assert {row["source_id"] for row in manifest} == set(load_registry().sources)
    comparateur = next(row for row in manifest if row["source_id"] == "insee_comparateur")
    kept = data / "raw" / comparateur["path"]
    assert kept.read_bytes() == (mirror_template / COMPARATEUR).read_bytes()
    assert comparateur["millesime"] == "2022" and len(comparateur["sha256"]) == 64

    text = summary.text()
    assert "Communes de la MEL trouvées : 95" in text
    assert comparateur["sha256"] in text and "millésime 2022" in text


def test_a_second_run_reuses_unchanged_files(refreshed, mirror):
    warehouse, data = paths(refreshed)
    before = snapshot(warehouse)
    summary = yearly_refresh()
    assert {item.status for item in summary.fetched} == {"inchangé (HTTP 304)"}
    assert all(report.skipped for report in summary.loads)
    # one row per file kept: no new row for a file served again unchanged
    files = {(item.raw.url, item.raw.sha256) for item in summary.fetched}
    assert len((data / "raw" / "manifest.csv").read_text().splitlines()) == 1 + len(files)
    assert snapshot(warehouse) == before
    assert "If-Modified-Since" in mirror.seen(COMPARATEUR)[-1].headers


def test_html_page_instead_of_zip_changes_nothing(refreshed, mirror):
    warehouse, data = paths(refreshed)
    before = snapshot(warehouse)
    exported = (data / "outputs" / "comparateur.csv").read_bytes()
    page = b"<!DOCTYPE html><html><body><h1>Service indisponible</h1></body></html>"
    mirror.script(COMPARATEUR, Scripted(200, page, {"Content-Type": "text/html"}))

    state = yearly_refresh(return_state=True)

    assert state.is_failed()
    with pytest.raises(InvalidFormat) as error:
        state.result()
    assert "page HTML" in error.value.message and "insee_comparateur" in error.value.message
    assert snapshot(warehouse) == before
    assert (data / "outputs" / "comparateur.csv").read_bytes() == exported
    rejected = list((data / "raw" / "_rejets" / "insee_comparateur").iterdir())
    assert [path.read_bytes() for path in rejected] == [page]


def artifacts_of(state) -> dict[str, str]:
    """The markdown artifacts of a flow run, by key, read back from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    return {artifact.key: artifact.data for artifact in found}


def task_runs(state) -> dict[str, str]:
    """The task runs the Prefect UI shows for a flow run and its subflows (the
    publication): their name and final state."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterParentFlowRunId,
    )

    parent = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent])
            )
        )
        ids = [parent, *(child.id for child in children)]
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
    return {run.name: run.state.type.value for run in runs}


def test_a_failed_critical_mart_is_kept_back_and_the_others_go_on(refreshed, mirror_dir):
    warehouse, data = paths(refreshed)
    outputs = data / "outputs"
    comparateur_before = (outputs / "comparateur.csv").read_bytes()
    lille = "select valeur from {} where code_commune = '59350' and code_indicateur = 'PIMP21'"
    validated = query(warehouse, lille.format("marts.comparateur"))
    # Lille's share of taxed households becomes -5 (critical: a share lies in [0, 100]);
    # Sailly's population six years before drops to 700 (over +15 % a year: a warning).
    rewrite_comparateur(
        mirror_dir,
        lambda text: _with_cells(text, {("59350", "PIMP21"): "-5", ("59522", "P16_POP"): "700"}),
    )

    state = yearly_refresh(return_state=True)

    # the run ends Failed, naming the blocked mart and the failed expectation
    assert state.is_failed()
    assert "1 mart(s) bloqué(s)" in state.message and "comparateur" in state.message
    with pytest.raises(QualityGateFailed) as error:
        state.result()
    assert "59350 Lille : -5.0" in error.value.message
    # the failing mart's file keeps its last validated version; the passing ones are new
    assert (outputs / "comparateur.csv").read_bytes() == comparateur_before
    with (outputs / "population.csv").open(encoding="utf-8") as f:
        sailly = next(r for r in csv.DictReader(f) if r["code_commune"] == "59522")
    assert sailly["population_6_ans_avant"] == "700.0"
    growth = round(100 * ((float(sailly["population"]) / 700) ** (1 / 6) - 1), 2)
    assert float(sailly["evolution_annuelle_population"]) == growth > 15
    # the warehouse in service keeps the validated comparateur; the refused one is aside
    assert query(warehouse, lille.format("marts.comparateur")) == validated != [(-5.0,)]
    assert query(warehouse, lille.format("rejets.comparateur")) == [(-5.0,)]
    # the history has every result of the run, with the samples
    run_id = str(state.state_details.flow_run_id)
    failed = query(
        warehouse,
        "select mart, colonne, gravite, exemples from meta.validations where run_id = "
        f"'{run_id}' and not succes order by mart, colonne, regle",
    )
    assert failed[:2] == [
        ("comparateur", "valeur", "critical", "59350 Lille : -5.0"),
        ("comparateur", "valeur", "critical", "59350 Lille : -5.0"),
    ]
    evolution = next(row for row in failed if row[1] == "evolution_annuelle_population")
    assert evolution[2] == "warning" and f"59522 Sailly-lez-Lannoy : {growth}" in evolution[3]
    assert query(
        warehouse, f"select count(distinct mart) from meta.validations where run_id = '{run_id}'"
    ) == [(10,)]
    assert query(
        warehouse,
        f"select mart, decision from meta.decisions_qualite where run_id = '{run_id}' "
        "order by mart",
    ) == [
        ("caf_prestations", "validé"),
        ("communes", "validé"),
        ("comparateur", "bloqué"),
        ("epci", "validé"),
        ("familles", "validé"),
        ("filosofi", "validé"),
        ("logement", "validé"),
        ("observatoire", "validé"),
        ("population", "validé"),
        ("serie_historique", "validé"),
    ]
    # the artifact and the Data Docs show the failure with its commune
    artifacts = artifacts_of(state)
    report = artifacts["controle-qualite"]
    assert "| comparateur | 2022 |" in report and "**bloqué**" in report
    assert "59350 Lille : -5.0" in report and f"59522 Sailly-lez-Lannoy : {growth}" in report
    assert "echec-rafraichissement" in artifacts
    docs = data / "qualite" / "data-docs"
    page = next((docs / "validations" / "comparateur").rglob("*.html")).read_text("utf-8")
    assert "[bloquante] valeur est compris entre 0 et 100" in page and "-5.0" in page
    assert "data/qualite/data-docs/index.html" in artifacts["resume-rafraichissement"]
    # the publication plan holds the comparateur back, and goes on with the communes
    plan = json.loads((outputs / "publication" / "plan-demo.json").read_text("utf-8"))
    actions = {d["key"]: d for d in plan["datasets"]}
    assert actions["comparateur/mel"]["action"] == "bloqué"
    assert "59350 Lille : -5.0" in actions["comparateur/mel"]["reason"]
    assert actions["communes/mel"]["action"] == "créer"
    # the data officer reads in the UI which source, which check, which dataset
    runs = task_runs(state)
    assert {"telecharger-insee_comparateur", "controler-qualite", "construire-modeles"} <= set(runs)
    assert {"publier-comparateur-mel", "publier-communes-mel", "publier-comparateur-59522"} <= set(
        runs
    )
    # one check per mart: the blocked one is red in the UI, the others green
    assert runs["controler-comparateur"] == "FAILED"
    assert runs["controler-population"] == runs["controler-communes"] == "COMPLETED"


def _with_cells(text: str, cells: dict[tuple[str, str], str]) -> str:
    lines = text.splitlines()
    header = lines[0].split(";")
    for index, line in enumerate(lines[1:], start=1):
        fields = line.split(";")
        for (code, column), value in cells.items():
            if fields[0] == code:
                fields[header.index(column)] = value
        lines[index] = ";".join(fields)
    return "\n".join(lines) + "\n"


def test_a_failed_referential_blocks_every_mart_built_from_it(workspace, mirror_dir):
    # One MEL commune moves to another EPCI in the served file: 94 communes instead of 95.
    served = mirror_dir / COG_EPCI.format(version="6.0.0")
    epcis = json.loads(served.read_text(encoding="utf-8"))
    mel = next(e for e in epcis if e["code"] == "200093201")
    other = next(e for e in epcis if e["code"] == "200041960")
    sailly = next(m for m in mel["membres"] if m["code"] == "59522")
    mel["membres"].remove(sailly)
    other["membres"].append(sailly)
    served.write_text(json.dumps(epcis, ensure_ascii=False), encoding="utf-8")

    state = yearly_refresh(return_state=True)

    assert state.is_failed()
    with pytest.raises(QualityGateFailed) as error:
        state.result()
    message = error.value.message
    assert "expect_column_sum_to_be_between" in message and "is_mel" in message
    assert "valeur observée 94" in message
    assert "59522 Sailly-lez-Lannoy : False" in message  # the pilot commune, named
    assert "comparateur : construit à partir du mart bloqué communes" in message
    warehouse, data = paths(workspace)
    assert not list((data / "outputs").glob("*.csv"))
    # no validated version yet: the marts are empty, the refused ones are aside
    assert query(warehouse, "select count(*) from marts.communes") == [(0,)]
    assert query(warehouse, "select count(*) from rejets.communes where is_mel") == [(94,)]


def test_http_500_then_success_completes(workspace, mirror):
    mirror.script(COMPARATEUR, Scripted(500, b"erreur interne"))
    summary = yearly_refresh(sources=["insee_comparateur"])
    assert len(mirror.seen(COMPARATEUR)) == 2
    assert query(paths(workspace)[0], "select count(*) from marts.communes where is_mel") == [(95,)]
    assert summary.mel_count == 95


def test_a_renamed_column_fails_inside_the_refresh_and_keeps_the_previous_state(
    refreshed, mirror_dir
):
    warehouse, _ = paths(refreshed)
    before = snapshot(warehouse)
    rewrite_comparateur(mirror_dir, lambda text: text.replace(";TP6021;", ";TP60_21;", 1))

    state = yearly_refresh(return_state=True)

    assert state.is_failed()
    with pytest.raises(LayoutChanged) as error:
        state.result()
    assert "TP6021" in error.value.message and "base_cc_comparateur_csv.zip" in error.value.message
    assert snapshot(warehouse) == before
    assert not warehouse.with_name("opendata.en_cours.duckdb").exists()


def test_a_warehouse_held_by_another_program_is_reported(refreshed):
    warehouse, _ = paths(refreshed)
    holding = "import duckdb, sys; c = duckdb.connect(sys.argv[1])"
    with held_by_another_process(holding, warehouse):
        state = yearly_refresh(return_state=True)
    assert state.is_failed()
    with pytest.raises(OpenDataError) as error:
        state.result()
    assert "ouvert par un autre programme" in error.value.message


def rewrite_comparateur(mirror_dir: Path, change) -> None:
    """Serve a changed copy of the comparateur zip (newer, so never answered by a 304)."""
    served = mirror_dir / COMPARATEUR
    with zipfile.ZipFile(served) as archive:
        text = archive.read("base_cc_comparateur.csv").decode("utf-8")
    with zipfile.ZipFile(served, "w") as archive:
        archive.writestr("base_cc_comparateur.csv", change(text))
    later = time.time() + 60
    os.utime(served, (later, later))


def truncate_zip(mirror_dir: Path) -> None:
    served = mirror_dir / COMPARATEUR
    served.write_bytes(served.read_bytes()[:4000])
    later = time.time() + 60
    os.utime(served, (later, later))


def lose_leading_zero(mirror_dir: Path) -> None:
    # As if re-saved by a spreadsheet: an Ain commune code 01001 becomes 1001.
    rewrite_comparateur(mirror_dir, lambda text: text.replace("\n59005;", "\n1001;", 1))


@pytest.mark.parametrize(
    ("damage", "error_type", "words"),
    [
        (truncate_zip, InvalidFormat, "tronquée ou corrompue"),
        (lose_leading_zero, InvalidData, "zéro initial"),
    ],
    ids=["zip-tronque", "code-sans-zero"],
)
def test_bad_input_after_a_good_run_changes_nothing(
    refreshed, mirror_dir, damage, error_type, words
):
    warehouse, data = paths(refreshed)
    before = snapshot(warehouse)
    exported = sorted((p.name, p.read_bytes()) for p in (data / "outputs").glob("*.csv"))
    damage(mirror_dir)

    state = yearly_refresh(return_state=True)

    assert state.is_failed()
    with pytest.raises(error_type) as error:
        state.result()
    assert words in error.value.message
    assert snapshot(warehouse) == before
    assert sorted((p.name, p.read_bytes()) for p in (data / "outputs").glob("*.csv")) == exported
    assert not list((data / "raw" / "_en_cours").iterdir())


def test_an_unreachable_source_changes_nothing(refreshed, monkeypatch):
    warehouse, data = paths(refreshed)
    before = snapshot(warehouse)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("OPENDATA_MIRROR", f"http://127.0.0.1:{closed}")

    state = yearly_refresh(return_state=True)

    assert state.is_failed() and "Source injoignable" in state.message
    assert snapshot(warehouse) == before
    assert not list((data / "raw" / "_en_cours").iterdir())


def test_a_millesime_not_yet_published_is_refused_even_on_http_304(refreshed, mirror):
    state = yearly_refresh(millesime=2023, sources=["insee_comparateur"], return_state=True)
    assert state.is_failed()
    assert mirror.seen(COMPARATEUR)[-1].headers.get("If-Modified-Since")  # answered 304
    with pytest.raises(InvalidData) as error:
        state.result()
    assert "millésime 2022, pas le millésime 2023" in error.value.message
    assert "telecharger-insee_comparateur-2023" in task_runs(state)


def test_a_cog_year_with_no_address_fails_in_french_and_changes_nothing(refreshed):
    warehouse, _ = paths(refreshed)
    before = snapshot(warehouse)
    state = yearly_refresh(cog=2019, return_state=True)
    assert state.is_failed()
    with pytest.raises(ConfigurationError) as error:
        state.result()
    assert "aucune adresse connue pour le COG 2019 de la source cog_communes" in error.value.message
    assert "« 2019: <adresse> »" in error.value.message
    assert snapshot(warehouse) == before


def test_an_older_cog_is_built_from_its_own_reference(workspace):
    summary = yearly_refresh(cog=2024, sources=["insee_comparateur"])
    warehouse, _ = paths(workspace)
    assert summary.cog == 2024 and summary.mel_count == 95
    # COG 2024: Bermeries and Amfroipret are still two communes; the RP 2022 file
    # (geography 2025) gives one figure for L'Orée de Mormal, which cannot be split.
    assert query(
        warehouse,
        "select code_commune, nom_commune, type_commune from marts.communes "
        "where code_commune in ('59006', '59070') order by 1",
    ) == [("59006", "Amfroipret", "commune-actuelle"), ("59070", "Bermeries", "commune-actuelle")]
    assert query(warehouse, "select cog, territoire from ref.execution") == [(2024, "200093201")]


def test_another_epci_as_territory_exports_its_communes_and_checks_its_count(workspace):
    # CC Pévèle-Carembault (200041960), a neighbour of the MEL, from the same files.
    summary = yearly_refresh(territoire="200041960", sources=["insee_comparateur"])
    warehouse, data = paths(workspace)
    [(members, official)] = query(
        warehouse,
        "select nombre_communes, nombre_membres_officiel from marts.epci "
        "where code_epci = '200041960'",
    )
    assert members == official == 38
    with (data / "outputs" / "communes.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 38 and {r["code_epci"] for r in rows} == {"200041960"}
    with (data / "outputs" / "epci.csv").open(encoding="utf-8") as f:
        assert [r["code_epci"] for r in csv.DictReader(f)] == ["200041960"]
    assert "CC Pévèle-Carembault (200041960) : 38 commune(s)" in summary.territoire
    assert summary.mel_count == 95  # the client's flag stays the MEL, checked nationally
    # the MEL's perimeters are not in this territory: nothing to publish by default
    assert summary.publication.datasets == []
    assert "Aucun périmètre de catalog/publication.yaml dans le territoire" in (
        summary.publication.text()
    )


def test_an_unknown_territory_is_refused_in_french(workspace):
    state = yearly_refresh(territoire="123456789", return_state=True)
    assert state.is_failed()
    with pytest.raises(ConfigurationError) as error:
        state.result()
    assert "territoire « 123456789 » inconnu du COG 2026" in error.value.message


def test_a_second_refresh_at_the_same_time_is_refused(refreshed):
    warehouse, _ = paths(refreshed)
    lock = warehouse.with_name(warehouse.name + ".lock")
    holding = "import fcntl, sys; f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX)"
    with held_by_another_process(holding, lock):
        state = yearly_refresh(return_state=True)
    assert state.is_failed() and "un autre rafraîchissement est en cours" in state.message


def test_non_mel_communes_stay_in_the_mart_but_not_in_the_mel_export(workspace, mirror_dir):
    # Test-only copy: Abancourt (59001, not MEL) carrying the values of row 59522.
    def add_non_mel(text: str) -> str:
        sailly = next(line for line in text.splitlines() if line.startswith("59522;"))
        return text.rstrip("\n") + "\n59001" + sailly[5:] + "\n"

    rewrite_comparateur(mirror_dir, add_non_mel)
    yearly_refresh()
    warehouse, data = paths(workspace)
    assert query(
        warehouse,
        "select distinct is_mel, dans_cog, nom_commune from marts.comparateur "
        "where code_commune = '59001'",
    ) == [(False, True, "Abancourt")]
    with (data / "outputs" / "comparateur.csv").open(encoding="utf-8") as f:
        codes = {row["code_commune"] for row in csv.DictReader(f)}
    assert "59001" not in codes and len(codes) == 95


def test_communes_that_do_not_add_up_to_their_epci_block_the_epci_mart(workspace, mirror_dir):
    # As if the EPCI file carried the populations of another millésime than the census.
    served = mirror_dir / COG_EPCI.format(version="6.0.0")
    epcis = json.loads(served.read_text(encoding="utf-8"))
    mel = next(epci for epci in epcis if epci["code"] == "200093201")
    mel["populationMunicipale"] -= 1500
    served.write_text(json.dumps(epcis, ensure_ascii=False), encoding="utf-8")

    state = yearly_refresh(return_state=True)

    assert state.is_failed()
    assert "1 mart(s) bloqué(s)" in state.message and "- epci :" in state.message
    assert "ecart_population est compris entre -1 et 1" in state.message
    warehouse, data = paths(workspace)
    assert query(
        warehouse, "select ecart_population from rejets.epci where code_epci = '200093201'"
    ) == [(1500.0,)]
    assert not (data / "outputs" / "epci.csv").exists()
    assert (data / "outputs" / "population.csv").exists()
