"""Publication against a real udata (the software of data.gouv.fr) on 127.0.0.1."""

from __future__ import annotations

import csv
import os
import re
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from flows.publish import publish
from flows.subventions import subventions
from flows.yearly_refresh import yearly_refresh
from tasks.core.errors import ConfigurationError, InvalidData
from tasks.publication.datagouv import PublicationError, TransientPublicationError
from tasks.quality.schema.validate import validate
from tests.conftest import COMPARATEUR, ROOT
from tests.faulty_proxy import Fault, FaultyProxy
from tests.subventions_fixtures import answer_report, write_documents

pytestmark = pytest.mark.usefixtures("prefect_api")


@dataclass
class Platform:
    proxy: FaultyProxy
    url: str
    key: str
    outsider_key: str
    organisations: dict[str, str]
    catalog: Path

    def datasets(self, perimetre: str) -> list[dict]:
        answer = requests.get(
            f"{self.url}/api/1/organizations/{self.organisations[perimetre]}/datasets/?page_size=100",
            timeout=30,
        )
        return [
            requests.get(f"{self.url}/api/1/datasets/{d['id']}/", timeout=30).json()
            for d in answer.json()["data"]
        ]

    def dataset(self, perimetre: str, fiche: str) -> dict:
        [found] = [
            d
            for d in self.datasets(perimetre)
            if d["extras"].get("opendata-mel:jeu") == f"{fiche}/{perimetre}"
        ]
        return found

    def fiche_ids(self, fiche: str) -> dict:
        return yaml.safe_load((self.catalog / "fiches" / f"{fiche}.yaml").read_text())["datagouv"]


@pytest.fixture
def platform(refreshed, udata_server, tmp_path, monkeypatch):
    """A private copy of the session's refreshed warehouse, publishing to its own
    organisations of the session's udata through a proxy that can fail on purpose."""
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", catalog)
    organisations = next(udata_server["pool"], None)
    if organisations is None:
        pytest.fail(
            "plus d'organisation libre dans le udata de test : augmentez POOL_SIZE "
            "dans tests/udata/serve.py"
        )
    with FaultyProxy(udata_server["url"]) as proxy:
        config_path = catalog / "publication.yaml"
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        config["environnements"]["demo"]["api"] = f"{proxy.url}/api/1"
        config["environnements"]["demo"]["organisations"] = organisations
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("OPENDATA_CATALOG", str(catalog))
        monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", udata_server["key"])
        yield Platform(
            proxy,
            udata_server["url"],
            udata_server["key"],
            udata_server["outsider_key"],
            organisations,
            catalog,
        )


def test_first_run_creates_datasets_with_complete_metadata(platform, workspace, capfd):
    report = publish(env="demo", dry_run=False)

    assert [p.action for p in report.datasets] == ["créer"] * 3
    mel = platform.dataset("mel", "comparateur")
    assert (
        mel["title"]
        == "Indicateurs clés du comparateur de territoires (INSEE) : Métropole Européenne de Lille"
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
    assert set(resources) == {"donnees", "dictionnaire"}
    assert resources["dictionnaire"]["type"] == "documentation"
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

    assert platform.fiche_ids("comparateur")["mel"]["demo"] == mel["id"]  # recorded for commit
    assert platform.fiche_ids("comparateur")["59522"]["demo"] == sailly["id"]
    captured = capfd.readouterr()
    for text in (captured.out, captured.err, *(p.read_text() for p in report.files)):
        assert platform.key not in text


def test_a_second_identical_run_sends_nothing(platform):
    publish(env="demo", dry_run=False)
    before = len(platform.proxy.writes())
    report = publish(env="demo", dry_run=False)
    assert platform.proxy.writes()[before:] == []
    assert all(not plan.touched for plan in report.datasets)
    assert {r.action for p in report.datasets for r in p.resources} == {"inchangé"}


def test_a_changed_mart_replaces_only_changed_files_with_a_changelog(platform, mirror_dir):
    publish(env="demo", dry_run=False)
    ids_before = {r["id"] for d in platform.datasets("mel") for r in d["resources"]}
    # Test-only copy of the source: Sailly-lez-Lannoy's population revised from 1936 to 1940.
    served = mirror_dir / COMPARATEUR
    with zipfile.ZipFile(served) as archive:
        text = archive.read("base_cc_comparateur.csv").decode("utf-8")
    with zipfile.ZipFile(served, "w") as archive:
        archive.writestr("base_cc_comparateur.csv", text.replace("\n59522;1936;", "\n59522;1940;"))
    later = time.time() + 60
    os.utime(served, (later, later))
    yearly_refresh()
    start = len(platform.proxy.writes())

    report = publish(env="demo", dry_run=False)

    uploads = [p for m, p in platform.proxy.writes()[start:] if p.endswith("/upload/")]
    mel, sailly = platform.dataset("mel", "comparateur"), platform.dataset("59522", "comparateur")
    data_ids = {next(r["id"] for r in d["resources"] if r["type"] == "main") for d in (mel, sailly)}
    assert sorted(uploads) == sorted(
        f"/api/1/datasets/{d['id']}/resources/{rid}/upload/"
        for d in (mel, sailly)
        for rid in data_ids
        if rid in {r["id"] for r in d["resources"]}
    )
    assert {r["id"] for d in platform.datasets("mel") for r in d["resources"]} == ids_before
    journal = next(r for r in mel["resources"] if r["type"] == "main")["description"]
    assert (
        "0 ligne(s) ajoutée(s), 0 supprimée(s), 1 modifiée(s) (par colonne : valeur : 1)" in journal
    )
    assert "2022 · 59522 · population valeur : 1936.0 → 1940.0" in journal
    assert "première publication" in journal  # the earlier entry is kept
    plans = {p.key: p for p in report.datasets}
    assert plans["communes/mel"].touched is False


def test_unauthorised_key_is_a_clear_error_and_publishes_nothing(platform, monkeypatch):
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", "udata_cle-invalide")
    state = publish(env="demo", dry_run=False, return_state=True)
    assert state.is_failed()
    with pytest.raises(PublicationError) as error:
        state.result()
    assert "clé d'API refusée" in error.value.message and "HTTP 401" in error.value.message
    assert platform.datasets("mel") == [] and platform.datasets("59522") == []


def test_a_key_without_rights_on_the_organisation(platform, monkeypatch):
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", platform.outsider_key)
    state = publish(env="demo", dry_run=False, return_state=True)
    with pytest.raises(PublicationError) as error:
        state.result()
    assert "organisation refusée" in error.value.message and "membre" in error.value.message
    assert platform.datasets("mel") == []

    # A dataset that exists, changed by an account that is not a member: HTTP 403.
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", platform.key)
    publish(env="demo", dry_run=False)
    fiche = platform.catalog / "fiches" / "communes.yaml"
    fiche.write_text(
        fiche.read_text(encoding="utf-8").replace(
            "et leur appartenance à la métropole", "(référentiel)"
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", platform.outsider_key)
    state = publish(env="demo", dry_run=False, datasets=["communes"], return_state=True)
    with pytest.raises(PublicationError) as error:
        state.result()
    assert "HTTP 403" in error.value.message and "droits insuffisants" in error.value.message
    assert "(référentiel)" not in platform.dataset("mel", "communes")["title"]


def test_an_unknown_zone_is_refused_with_the_field(platform):
    config_path = platform.catalog / "publication.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["perimetres"]["mel"]["zones"] = ["fr:epci:999999999"]
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    state = publish(env="demo", dry_run=False, return_state=True)
    with pytest.raises(PublicationError) as error:
        state.result()
    assert "HTTP 400" in error.value.message and "fr:epci:999999999" in error.value.message
    assert platform.datasets("mel") == []


def test_a_502_after_an_upload_is_retried_without_duplicate(platform):
    fault = Fault("POST", r"/datasets/[^/]+/upload/$", times=1, after_forwarding=True)
    platform.proxy.fail(fault)
    publish(env="demo", dry_run=False)
    assert fault.times == 0  # the upload did reach udata, and its answer was lost
    for perimetre, fiche in (("mel", "communes"), ("mel", "comparateur"), ("59522", "comparateur")):
        resources = platform.dataset(perimetre, fiche)["resources"]
        assert sorted(r["extras"].get("opendata-mel:ressource") for r in resources) == [
            "dictionnaire",
            "donnees",
        ]


def test_a_429_with_retry_after_is_waited_for_and_publishes_once(platform):
    created = r"/api/1/datasets/$"
    changed = r"/datasets/[^/]+/resources/[^/]+/$"
    platform.proxy.fail(Fault("POST", created, status=429, headers={"Retry-After": "1"}))
    platform.proxy.fail(Fault("PUT", changed, status=503, headers={"Retry-After": "1"}))

    publish(env="demo", dry_run=False)

    assert [f.times for f in platform.proxy.faults] == [0, 0]
    posts = [at for m, p, at in platform.proxy.arrivals if m == "POST" and re.search(created, p)]
    assert len(posts) == 4  # 3 datasets, one of them sent twice
    assert posts[1] - posts[0] >= 1.0  # after the second asked, not the 0.05 s backoff
    puts = [at for m, p, at in platform.proxy.arrivals if m == "PUT" and re.search(changed, p)]
    assert puts[1] - puts[0] >= 1.0
    assert sorted(d["extras"]["opendata-mel:jeu"] for d in platform.datasets("mel")) == [
        "communes/mel",
        "comparateur/mel",
    ]
    assert len(platform.datasets("59522")) == 1
    for perimetre, fiche in (("mel", "communes"), ("mel", "comparateur"), ("59522", "comparateur")):
        resources = platform.dataset(perimetre, fiche)["resources"]
        assert sorted(r["extras"].get("opendata-mel:ressource") for r in resources) == [
            "dictionnaire",
            "donnees",
        ]


def test_a_502_after_creating_a_dataset_leaves_no_duplicate(platform):
    fault = Fault("POST", r"/api/1/datasets/$", times=1, after_forwarding=True)
    platform.proxy.fail(fault)
    publish(env="demo", dry_run=False)
    assert fault.times == 0
    keys = [d["extras"]["opendata-mel:jeu"] for d in platform.datasets("mel")]
    assert sorted(keys) == ["communes/mel", "comparateur/mel"]


def test_a_crash_between_upload_and_metadata_converges_on_rerun(platform):
    fault = Fault("PUT", r"/datasets/[^/]+/resources/[^/]+/$", times=100)
    platform.proxy.fail(fault)
    state = publish(env="demo", dry_run=False, return_state=True)
    with pytest.raises(TransientPublicationError):
        state.result()
    assert fault.times < 100
    platform.proxy.faults.clear()

    publish(env="demo", dry_run=False)

    for perimetre, fiche in (("mel", "communes"), ("mel", "comparateur"), ("59522", "comparateur")):
        resources = platform.dataset(perimetre, fiche)["resources"]
        assert sorted(r["extras"].get("opendata-mel:ressource") for r in resources) == [
            "dictionnaire",
            "donnees",
        ]
        assert all(not r["title"].endswith(".csv") for r in resources)
    journal = next(
        r for r in platform.dataset("mel", "comparateur")["resources"] if r["type"] == "main"
    )["description"]
    assert journal.count("première publication") == 1
    start = len(platform.proxy.writes())
    publish(env="demo", dry_run=False)
    assert platform.proxy.writes()[start:] == []


def test_without_a_key_the_run_is_a_dry_run_that_writes_the_plan(platform, monkeypatch, workspace):
    monkeypatch.delenv("DATAGOUV_API_KEY_DEMO")
    start = len(platform.proxy.requests)
    report = publish(env="demo", dry_run=True)
    assert report.dry_run and platform.proxy.requests[start:] == []  # the site is not even read
    plan = (workspace / "data/outputs/publication/plan-demo.md").read_text(encoding="utf-8")
    assert "SIMULATION" in plan and "comparateur-59522.csv : téléverser" in plan
    state = publish(env="demo", dry_run=False, return_state=True)
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
    report = publish(env="demo", dry_run=False, outcomes=[failed, passed])
    plans = {p.key: p for p in report.datasets}
    assert plans["comparateur/mel"].action == "bloqué"
    assert "valeur ≥ 0" in plans["comparateur/mel"].reason
    assert plans["communes/mel"].action == "créer"
    assert [d["extras"]["opendata-mel:jeu"] for d in platform.datasets("mel")] == ["communes/mel"]
    # A dataset whose suite did not run at all is not published either.
    report = publish(env="demo", dry_run=False, outcomes=[failed])
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
    assert dataset["title"] == "Subventions aux associations de la commune de Sailly-lez-Lannoy"
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
    publish(env="demo", dry_run=False)
    before = platform.dataset("mel", "communes")
    fiche = platform.catalog / "fiches" / "communes.yaml"
    fiche.write_text(
        fiche.read_text(encoding="utf-8").replace(
            "et leur appartenance à la métropole", "(référentiel)"
        ),
        encoding="utf-8",
    )
    start = len(platform.proxy.writes())

    report = publish(env="demo", dry_run=False)

    after = platform.dataset("mel", "communes")
    assert after["title"] == "Communes de la Métropole Européenne de Lille (référentiel)"
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
    publish(env="demo", dry_run=False)
    assert platform.proxy.writes()[start:] == []


def test_a_key_pasted_with_a_newline_is_refused_without_being_shown(platform, monkeypatch, capfd):
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", "udata_abc\ndef")
    state = publish(env="demo", dry_run=False, return_state=True)
    with pytest.raises(ConfigurationError) as error:
        state.result()
    assert "caractères inattendus" in error.value.message
    assert "udata_abc" not in error.value.message and "udata_abc" not in capfd.readouterr().err


def test_a_real_run_without_organisation_is_refused(platform):
    config_path = platform.catalog / "publication.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["environnements"]["demo"]["organisations"]["59522"] = None
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    state = publish(env="demo", dry_run=False, return_state=True)
    with pytest.raises(ConfigurationError) as error:
        state.result()
    assert "aucune organisation déclarée pour le périmètre 59522" in error.value.message


def test_a_dry_run_without_key_sees_metadata_changes_from_the_warehouse(platform, monkeypatch):
    publish(env="demo", dry_run=False)
    monkeypatch.delenv("DATAGOUV_API_KEY_DEMO")
    unchanged = publish(env="demo", dry_run=True)
    assert all(not plan.touched for plan in unchanged.datasets)
    fiche = platform.catalog / "fiches" / "communes.yaml"
    fiche.write_text(
        fiche.read_text(encoding="utf-8").replace(
            "et leur appartenance à la métropole", "(référentiel)"
        ),
        encoding="utf-8",
    )
    start = len(platform.proxy.requests)

    changed = {p.key: p for p in publish(env="demo", dry_run=True).datasets}

    assert platform.proxy.requests[start:] == []
    assert changed["communes/mel"].action == "mettre à jour les métadonnées"
    assert not changed["comparateur/mel"].touched
