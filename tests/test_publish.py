"""Publication against a real udata (the software of data.gouv.fr) on 127.0.0.1."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest
import requests

from flows.subventions import subventions
from flows.yearly_refresh import yearly_refresh
from tasks.core.errors import ConfigurationError, InvalidData
from tasks.publication.datagouv import PublicationError, TransientPublicationError
from tasks.quality.schema.validate import validate
from tests.conftest import COMPARATEUR, ROOT
from tests.faulty_proxy import Fault
from tests.publication_platform import DATASETS, RESOURCES, data_resource
from tests.subventions_fixtures import answer_report, write_documents

pytestmark = pytest.mark.usefixtures("prefect_api")

# The tests of a transport fault or of metadata need one fiche only.
ONLY_COMMUNES = ["communes"]
COMMUNES = [("mel", "communes"), ("59522", "communes")]


def test_first_run_creates_datasets_with_complete_metadata(platform, workspace, capfd):
    report = platform.publish(outcomes=None)  # the flow runs the quality gate itself

    assert [p.action for p in report.datasets] == ["créer"] * 4
    mel = platform.dataset("mel", "comparateur")
    assert (
        mel["title"]
        == "Indicateurs clés du comparateur de territoires (INSEE) — Métropole Européenne de Lille"
    )
    assert mel["license"] == "lov2" and mel["frequency"] == "annual"
    assert mel["spatial"]["zones"] == ["fr:epci:200093201"]
    assert mel["spatial"]["granularity"] == "fr:commune"
    assert mel["temporal_coverage"] == {"start": "2022-01-01", "end": "2022-12-31"}
    assert "recensement" in mel["tags"]
    assert "## Processus de collecte" in mel["description"]
    assert "millésime(s) 2022" in mel["description"]  # generated at run time
    assert "| `raison_absence` |" in mel["description"]  # the columns, in French
    resources = {r["extras"]["opendata-mel:ressource"]: r for r in mel["resources"]}
    assert set(resources) == {"donnees", "dictionnaire", "controles"}
    assert resources["dictionnaire"]["type"] == "documentation"
    assert resources["controles"]["type"] == "documentation"
    evidence = requests.get(resources["controles"]["url"], timeout=30).text
    assert evidence.startswith("# Contrôles de qualité des données")
    assert "| Règle | Colonne | Gravité | Résultat |" in evidence
    assert "Millésime" not in evidence.split("\n")[0] and str(dt.date.today()) not in evidence
    assert "### Journal des modifications" in resources["donnees"]["description"]
    assert "première publication (2\u202f945 lignes)" in resources["donnees"]["description"]
    published = requests.get(resources["donnees"]["url"], timeout=30).text
    assert (
        published == (workspace / "data/outputs/publication/demo/comparateur-mel.csv").read_text()
    )

    sailly = platform.dataset("59522", "comparateur")
    assert sailly["spatial"]["zones"] == ["fr:commune:59522"]
    rows = list(
        csv.DictReader(
            requests.get(
                next(r["url"] for r in sailly["resources"] if r["type"] == "main"), timeout=30
            ).text.splitlines()
        )
    )
    assert {row["code_commune"] for row in rows} == {"59522"}
    assert len(platform.datasets("mel")) == 2  # communes + comparateur for the MEL
    assert len(platform.datasets("59522")) == 2  # and for Sailly-lez-Lannoy

    assert platform.fiche_ids("comparateur")["mel"]["demo"] == mel["id"]  # recorded for commit
    assert platform.fiche_ids("comparateur")["59522"]["demo"] == sailly["id"]
    captured = capfd.readouterr()
    for text in (captured.out, captured.err, *(p.read_text() for p in report.files)):
        assert platform.key not in text


def _revise_sailly_population(mirror_dir: Path) -> None:
    """Test-only copy of the source: Sailly-lez-Lannoy's population revised from 1936 to
    1940, as INSEE revises a published figure; then the yearly refresh reads it."""
    served = mirror_dir / COMPARATEUR
    with zipfile.ZipFile(served) as archive:
        text = archive.read("base_cc_comparateur.csv").decode("utf-8")
    with zipfile.ZipFile(served, "w") as archive:
        archive.writestr("base_cc_comparateur.csv", text.replace("\n59522;1936;", "\n59522;1940;"))
    later = time.time() + 60
    os.utime(served, (later, later))
    yearly_refresh()


def test_a_revised_figure_keeps_the_previous_file_once_then_replaces_it(platform, mirror_dir):
    platform.publish()
    before = {p: platform.dataset(p, "comparateur") for p in ("mel", "59522")}
    published = {
        p: requests.get(data_resource(d)["url"], timeout=30).content for p, d in before.items()
    }
    ids_before = {r["id"] for d in platform.datasets("mel") for r in d["resources"]}
    _revise_sailly_population(mirror_dir)
    start = len(platform.proxy.writes())

    report = platform.publish(outcomes=None)

    today = dt.date.today().isoformat()
    writes = platform.proxy.writes()[start:]
    for perimetre, old in before.items():
        dataset = platform.dataset(perimetre, "comparateur")
        kept = [r for r in dataset["resources"] if r["extras"].get("opendata-mel:archive-de")]
        assert len(kept) == 1, perimetre
        [version] = kept
        assert version["title"] == f"Version du {today} (remplacée)"
        assert version["type"] == "other"
        # the very bytes that were published, kept before udata deletes them
        assert requests.get(version["url"], timeout=30).content == published[perimetre]
        assert version["checksum"]["value"] == data_resource(old)["checksum"]["value"]
        data = data_resource(dataset)
        assert data["id"] == data_resource(old)["id"]  # replaced in place: re-users' links hold
        assert data["checksum"]["value"] != data_resource(old)["checksum"]["value"]
        # kept first, then replaced
        kept_at = writes.index(("POST", f"/api/1/datasets/{dataset['id']}/upload/"))
        replaced = f"/api/1/datasets/{dataset['id']}/resources/{data['id']}/upload/"
        assert kept_at < writes.index(("POST", replaced))
        journal = data["description"]
        assert (
            "0 ligne(s) ajoutée(s), 0 supprimée(s), 1 modifiée(s) (par colonne : valeur : 1)"
            in journal
        )
        assert "2022 · 59522 · population valeur : 1936.0 → 1940.0" in journal
        assert f"version précédente conservée : « Version du {today} (remplacée) »" in journal
        assert "première publication" in journal  # the earlier entry is kept
    mel_ids = {r["id"] for d in platform.datasets("mel") for r in d["resources"]}
    assert len(mel_ids - ids_before) == 1 and ids_before <= mel_ids  # the kept version only
    plans = {p.key: p for p in report.datasets}
    assert plans["communes/mel"].touched is False
    assert plans["comparateur/mel"].resources[0].action == (
        "conserver l'ancienne version, puis remplacer le fichier"
    )

    start = len(platform.proxy.writes())
    again = platform.publish()
    assert platform.proxy.writes()[start:] == []  # nothing kept twice, nothing re-sent
    assert sum(p.archives for p in again.datasets) == 0


def test_unauthorised_key_is_a_clear_error_and_publishes_nothing(platform, monkeypatch):
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", "udata_cle-invalide")
    state = platform.publish(return_state=True)
    assert state.is_failed()
    with pytest.raises(PublicationError) as error:
        state.result()
    assert "clé d'API refusée" in error.value.message and "HTTP 401" in error.value.message
    assert platform.datasets("mel") == [] and platform.datasets("59522") == []


def test_a_key_without_rights_on_the_organisation(platform, monkeypatch):
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", platform.outsider_key)
    state = platform.publish(return_state=True)
    with pytest.raises(PublicationError) as error:
        state.result()
    assert "organisation refusée" in error.value.message and "membre" in error.value.message
    assert platform.datasets("mel") == []

    # A dataset that exists, changed by an account that is not a member: HTTP 403.
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", platform.key)
    platform.publish()
    platform.retitle_communes()
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", platform.outsider_key)
    state = platform.publish(datasets=["communes"], return_state=True)
    with pytest.raises(PublicationError) as error:
        state.result()
    assert "HTTP 403" in error.value.message and "droits insuffisants" in error.value.message
    assert "(référentiel)" not in platform.dataset("mel", "communes")["title"]


def test_an_unknown_zone_is_refused_with_the_field(platform):
    platform.configure(
        lambda config: config["perimetres"]["mel"].update(zones=["fr:epci:999999999"])
    )
    state = platform.publish(return_state=True)
    with pytest.raises(PublicationError) as error:
        state.result()
    assert "HTTP 400" in error.value.message and "fr:epci:999999999" in error.value.message
    assert platform.datasets("mel") == []


def test_a_502_after_an_upload_is_retried_without_duplicate(platform):
    fault = Fault("POST", r"/datasets/[^/]+/upload/$", times=1, after_forwarding=True)
    platform.proxy.fail(fault)
    platform.publish(datasets=ONLY_COMMUNES)
    assert fault.times == 0  # the upload did reach udata, and its answer was lost
    for perimetre, fiche in COMMUNES:
        resources = platform.dataset(perimetre, fiche)["resources"]
        assert sorted(r["extras"].get("opendata-mel:ressource") for r in resources) == RESOURCES


def test_a_429_with_retry_after_is_waited_for_and_publishes_once(platform):
    created = r"/api/1/datasets/$"
    changed = r"/datasets/[^/]+/resources/[^/]+/$"
    platform.proxy.fail(Fault("POST", created, status=429, headers={"Retry-After": "1"}))
    platform.proxy.fail(Fault("PUT", changed, status=503, headers={"Retry-After": "1"}))

    platform.publish(datasets=ONLY_COMMUNES)

    assert [f.times for f in platform.proxy.faults] == [0, 0]
    posts = [at for m, p, at in platform.proxy.arrivals if m == "POST" and re.search(created, p)]
    assert len(posts) == 3  # 2 datasets, one of them sent twice
    assert posts[1] - posts[0] >= 1.0  # after the second asked, not the 0.05 s backoff
    puts = [at for m, p, at in platform.proxy.arrivals if m == "PUT" and re.search(changed, p)]
    assert puts[1] - puts[0] >= 1.0
    assert [d["extras"]["opendata-mel:jeu"] for d in platform.datasets("mel")] == ["communes/mel"]
    assert len(platform.datasets("59522")) == 1
    for perimetre, fiche in COMMUNES:
        resources = platform.dataset(perimetre, fiche)["resources"]
        assert sorted(r["extras"].get("opendata-mel:ressource") for r in resources) == RESOURCES


def test_a_502_after_creating_a_dataset_leaves_no_duplicate(platform):
    fault = Fault("POST", r"/api/1/datasets/$", times=1, after_forwarding=True)
    platform.proxy.fail(fault)
    platform.publish(datasets=ONLY_COMMUNES)
    assert fault.times == 0
    keys = [d["extras"]["opendata-mel:jeu"] for d in platform.datasets("mel")]
    assert keys == ["communes/mel"]


def test_a_crash_between_upload_and_metadata_converges_on_rerun(platform):
    fault = Fault("PUT", r"/datasets/[^/]+/resources/[^/]+/$", times=100)
    platform.proxy.fail(fault)
    state = platform.publish(return_state=True)
    with pytest.raises(TransientPublicationError):
        state.result()
    assert fault.times < 100
    platform.proxy.faults.clear()

    platform.publish()

    for perimetre, fiche in DATASETS:
        resources = platform.dataset(perimetre, fiche)["resources"]
        assert sorted(r["extras"].get("opendata-mel:ressource") for r in resources) == RESOURCES
        assert all(not r["title"].endswith(".csv") for r in resources)
    journal = next(
        r for r in platform.dataset("mel", "comparateur")["resources"] if r["type"] == "main"
    )["description"]
    assert journal.count("première publication") == 1
    start = len(platform.proxy.writes())
    platform.publish()
    assert platform.proxy.writes()[start:] == []


def test_without_a_key_the_run_is_a_dry_run_that_writes_the_plan(platform, monkeypatch, workspace):
    monkeypatch.delenv("DATAGOUV_API_KEY_DEMO")
    start = len(platform.proxy.requests)
    report = platform.publish(dry_run=True)
    assert report.dry_run and platform.proxy.requests[start:] == []  # the site is not even read
    plan = (workspace / "data/outputs/publication/plan-demo.md").read_text(encoding="utf-8")
    assert "SIMULATION" in plan and "comparateur-59522.csv : téléverser" in plan
    state = platform.publish(return_state=True)
    with pytest.raises(ConfigurationError) as error:
        state.result()
    assert "aucune clé d'API" in error.value.message


def test_a_dataset_whose_critical_expectation_failed_is_blocked(platform):
    from tasks.quality.gate import Outcome

    failed = Outcome(
        "comparateur",
        "expect_column_values_to_be_between",
        "valeur ≥ 0",
        "valeur",
        "critical",
        False,
        unexpected_count=1,
        samples=["59522 : -1"],
    )
    passed = Outcome(
        "communes",
        "expect_column_values_to_be_unique",
        "code unique",
        "code_commune",
        "critical",
        True,
    )
    report = platform.publish(outcomes=[failed, passed])
    plans = {p.key: p for p in report.datasets}
    assert plans["comparateur/mel"].action == "bloqué"
    assert "valeur ≥ 0" in plans["comparateur/mel"].reason
    assert plans["communes/mel"].action == "créer"
    assert [d["extras"]["opendata-mel:jeu"] for d in platform.datasets("mel")] == ["communes/mel"]
    # A dataset whose suite did not run at all is not published either.
    report = platform.publish(outcomes=[failed])
    assert (
        "aucun contrôle de la suite « communes »"
        in {p.key: p for p in report.datasets}["communes/mel"].reason
    )


def test_subsidies_are_published_as_scdl_then_left_alone_when_unchanged(
    platform, mirror_dir, tmp_path
):
    shutil.copytree(
        ROOT / "tests" / "fixtures" / "recherche-entreprises",
        mirror_dir,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("*.md"),
    )
    documents, out = tmp_path / "documents", tmp_path / "sortie"
    expected = write_documents(documents)
    with pytest.raises(InvalidData):  # the report has questions: nothing is published
        subventions(input_dir=str(documents), out_dir=str(out), publish_changes=True)
    assert platform.proxy.writes() == []
    answer_report(out, expected)

    run = subventions(
        input_dir=str(documents), out_dir=str(out), publish_changes=True, dry_run=False
    )
    assert [p.action for p in run.publication.datasets] == ["créer"]
    dataset = platform.dataset("59522", "subventions")
    assert dataset["title"] == "Subventions aux associations — Sailly-lez-Lannoy"
    assert "scdl" in dataset["tags"]  # data.gouv.fr writes its tags in lower case
    assert dataset["temporal_coverage"] == {"start": "2016-01-01", "end": "2022-12-31"}
    data = next(r for r in dataset["resources"] if r["type"] == "main")
    assert (data["schema"]["name"], data["schema"]["version"]) == ("scdl/subventions", "2.1.1")
    # the SCDL name is the resource's title; udata slugifies the stored file's name
    assert re.match(r"^\d{8}_215905225_commune-de-sailly-lez-lannoy\.csv$", data["title"])
    assert data["url"].endswith(data["title"].replace("_", "-"))
    published = tmp_path / "publie.csv"
    published.write_bytes(requests.get(data["url"], timeout=30).content)
    assert validate(published, ROOT / "catalog/schemas/scdl-subventions-2.1.1.json").publiable
    rows = list(csv.DictReader(published.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == sum(expected.count(year) for year in expected.lines)
    assert "code_commune" not in rows[0] and list(rows[0])[-1] == "dispositifAide"

    start = len(platform.proxy.writes())
    again = subventions(
        input_dir=str(documents), out_dir=str(out), publish_changes=True, dry_run=False
    )
    assert [p.action for p in again.publication.datasets] == ["inchangé"]
    assert platform.proxy.writes()[start:] == []


def test_changed_metadata_are_merged_into_the_complete_dataset(platform):
    platform.publish(datasets=ONLY_COMMUNES)
    before = platform.dataset("mel", "communes")
    platform.retitle_communes()
    start = len(platform.proxy.writes())

    report = platform.publish(datasets=ONLY_COMMUNES)

    after = platform.dataset("mel", "communes")
    assert after["title"] == "Communes (référentiel) — Métropole Européenne de Lille"
    for field in ("tags", "temporal_coverage", "spatial", "license", "frequency", "description"):
        assert after[field] == before[field], field
    assert [r["id"] for r in after["resources"]] == [r["id"] for r in before["resources"]]
    writes = platform.proxy.writes()[start:]
    assert not [p for _, p in writes if p.endswith("/upload/")]
    assert ("PUT", f"/api/1/datasets/{after['id']}/") in writes
    assert {p.key: p.action for p in report.datasets}[
        "communes/mel"
    ] == "mettre à jour les métadonnées"
    start = len(platform.proxy.writes())
    platform.publish(datasets=ONLY_COMMUNES)
    assert platform.proxy.writes()[start:] == []


def test_a_key_pasted_with_a_newline_is_refused_without_being_shown(platform, monkeypatch, capfd):
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", "udata_abc\ndef")
    state = platform.publish(return_state=True)
    with pytest.raises(ConfigurationError) as error:
        state.result()
    assert "caractères inattendus" in error.value.message
    assert "udata_abc" not in error.value.message and "udata_abc" not in capfd.readouterr().err


def test_a_real_run_without_organisation_is_refused(platform):
    platform.configure(
        lambda config: config["perimetres"]["59522"]["organisations"].update(demo=None)
    )
    state = platform.publish(return_state=True)
    with pytest.raises(ConfigurationError) as error:
        state.result()
    assert "aucune organisation déclarée pour le périmètre 59522" in error.value.message


def test_a_dry_run_without_key_sees_metadata_changes_from_the_warehouse(platform, monkeypatch):
    platform.publish()
    monkeypatch.delenv("DATAGOUV_API_KEY_DEMO")
    unchanged = platform.publish(dry_run=True)
    assert all(not plan.touched for plan in unchanged.datasets)
    platform.retitle_communes()
    start = len(platform.proxy.requests)

    changed = {p.key: p for p in platform.publish(dry_run=True).datasets}

    assert platform.proxy.requests[start:] == []
    assert changed["communes/mel"].action == "mettre à jour les métadonnées"
    assert not changed["comparateur/mel"].touched
