"""Publication against a real udata (the software of data.gouv.fr) on 127.0.0.1."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import requests
import yaml

from flows.publish import publish
from flows.subventions import subventions
from flows.yearly_refresh import yearly_refresh
from tasks.core.errors import ConfigurationError, InvalidData
from tasks.core.settings import Settings
from tasks.publication.datagouv import PublicationError, TransientPublicationError
from tasks.quality.schema.validate import validate
from tasks.sources.imports import import_file
from tasks.sources.raw_store import RawStore
from tasks.sources.registry import load_registry
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
    outcomes: list

    def publish(self, **options):
        """The publication flow, as the refresh runs it: the core fiches, gated by the
        checks of the session's refresh (its warehouse is the one published)."""
        options.setdefault("datasets", CORE)
        options.setdefault("outcomes", self.outcomes)
        options.setdefault("dry_run", False)
        return publish(env="demo", **options)

    def datasets(self, perimetre: str) -> list[dict]:
        return self.datasets_of(self.organisations[perimetre])

    def datasets_of(self, organisation: str) -> list[dict]:
        answer = requests.get(
            f"{self.url}/api/1/organizations/{organisation}/datasets/?page_size=100",
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

    def configure(self, change) -> None:
        """Change catalog/publication.yaml as an operator would: `change(config)`."""
        path = self.catalog / "publication.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(config)
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    def retitle_communes(self) -> None:
        """The data officer renames the communes fiche: « Communes (référentiel) — … »."""
        fiche = self.catalog / "fiches" / "communes.yaml"
        text = fiche.read_text(encoding="utf-8")
        assert text.count(" — {perimetre}") == 1
        fiche.write_text(text.replace(" — {perimetre}", " (référentiel) — {perimetre}"), "utf-8")

    def opt_in(self, code: str, organisation: str | None = None) -> None:
        """A commune of the MEL opts in: one entry in catalog/publication.yaml."""
        organisation = organisation or self.organisations[code]
        self.organisations.setdefault(code, organisation)

        def add(config: dict) -> None:
            config["perimetres"][code] = {"commune": code, "organisations": {"demo": organisation}}

        self.configure(add)


# The (fictitious, valid key) SIRET of Sailly-lez-Lannoy's mairie in the recorded answers
# of the Recherche d'entreprises (tests/fixtures/recherche-entreprises/README.md): the
# repository's configuration leaves it empty, the real one not being known offline.
SIRET_SAILLY = "21590522500011"
# The datasets most tests publish: the reference and the comparateur (every fiche is
# published by tests/test_publish_all.py).
CORE = ["communes", "comparateur"]
DATASETS = [(p, f) for p in ("mel", "59522") for f in CORE]
RESOURCES = ["controles", "dictionnaire", "donnees"]


@pytest.fixture
def platform(refreshed, udata_server, gate_outcomes, tmp_path, monkeypatch):
    """A private copy of the session's refreshed warehouse, publishing to its own
    organisations of the session's udata through a proxy that can fail on purpose."""
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", catalog)
    organisations = next(udata_server["pool"], None)
    if organisations is None:
        pytest.fail(
            "plus d'organisation libre dans le udata de test : augmentez UDATA_POOL "
            "dans tests/conftest.py"
        )
    with FaultyProxy(udata_server["url"]) as proxy:
        config_path = catalog / "publication.yaml"
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        config["environnements"]["demo"]["api"] = f"{proxy.url}/api/1"
        for code, entry in config["perimetres"].items():
            entry["organisations"]["demo"] = organisations[code]
        config["perimetres"]["59522"]["siret"] = SIRET_SAILLY
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
            gate_outcomes,
        )


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
    assert evidence.startswith("# Contrôles de qualité du jeu")
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


def test_a_second_identical_run_sends_nothing(platform):
    platform.publish()
    before = len(platform.proxy.writes())
    report = platform.publish()
    assert platform.proxy.writes()[before:] == []
    assert all(not plan.touched for plan in report.datasets)
    assert {r.action for p in report.datasets for r in p.resources} == {"inchangé"}


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


def _data(dataset: dict) -> dict:
    return next(r for r in dataset["resources"] if r["type"] == "main")


def test_a_revised_figure_keeps_the_previous_file_once_then_replaces_it(platform, mirror_dir):
    platform.publish()
    before = {p: platform.dataset(p, "comparateur") for p in ("mel", "59522")}
    published = {p: requests.get(_data(d)["url"], timeout=30).content for p, d in before.items()}
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
        assert version["checksum"]["value"] == _data(old)["checksum"]["value"]
        data = _data(dataset)
        assert data["id"] == _data(old)["id"]  # replaced in place: re-users' links hold
        assert data["checksum"]["value"] != _data(old)["checksum"]["value"]
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
    platform.publish()
    assert fault.times == 0  # the upload did reach udata, and its answer was lost
    for perimetre, fiche in DATASETS:
        resources = platform.dataset(perimetre, fiche)["resources"]
        assert sorted(r["extras"].get("opendata-mel:ressource") for r in resources) == RESOURCES


def test_a_429_with_retry_after_is_waited_for_and_publishes_once(platform):
    created = r"/api/1/datasets/$"
    changed = r"/datasets/[^/]+/resources/[^/]+/$"
    platform.proxy.fail(Fault("POST", created, status=429, headers={"Retry-After": "1"}))
    platform.proxy.fail(Fault("PUT", changed, status=503, headers={"Retry-After": "1"}))

    platform.publish()

    assert [f.times for f in platform.proxy.faults] == [0, 0]
    posts = [at for m, p, at in platform.proxy.arrivals if m == "POST" and re.search(created, p)]
    assert len(posts) == 5  # 4 datasets, one of them sent twice
    assert posts[1] - posts[0] >= 1.0  # after the second asked, not the 0.05 s backoff
    puts = [at for m, p, at in platform.proxy.arrivals if m == "PUT" and re.search(changed, p)]
    assert puts[1] - puts[0] >= 1.0
    assert sorted(d["extras"]["opendata-mel:jeu"] for d in platform.datasets("mel")) == [
        "communes/mel",
        "comparateur/mel",
    ]
    assert len(platform.datasets("59522")) == 2
    for perimetre, fiche in DATASETS:
        resources = platform.dataset(perimetre, fiche)["resources"]
        assert sorted(r["extras"].get("opendata-mel:ressource") for r in resources) == RESOURCES


def test_a_502_after_creating_a_dataset_leaves_no_duplicate(platform):
    fault = Fault("POST", r"/api/1/datasets/$", times=1, after_forwarding=True)
    platform.proxy.fail(fault)
    platform.publish()
    assert fault.times == 0
    keys = [d["extras"]["opendata-mel:jeu"] for d in platform.datasets("mel")]
    assert sorted(keys) == ["communes/mel", "comparateur/mel"]


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
    platform.publish()
    before = platform.dataset("mel", "communes")
    platform.retitle_communes()
    start = len(platform.proxy.writes())

    report = platform.publish()

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
    platform.publish()
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


# Everything the warehouse knows, for every perimeter -------------------------------------
def _fiches() -> dict[str, dict]:
    return {
        path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "catalog" / "fiches").glob("*.yaml"))
    }


def _expected_keys(warehouse: Path, perimetre: str, kind: str) -> set[str]:
    """The fiches whose mart has rows for the perimeter (every perimeter of these tests
    is the MEL or one of its communes): the datasets its organisation must hold."""
    keys = set()
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        for name, fiche in _fiches().items():
            if fiche.get("genre") == "catalogue" or kind not in fiche["publie_pour"]:
                continue
            columns = conn.table(f"marts.{fiche['mart']}").columns
            if kind == "commune" and "code_commune" in columns:
                where, value = "code_commune = ?", perimetre
            else:
                where, value = "code_epci = ?", "200093201"
            [(rows,)] = conn.execute(
                f"select count(*) from marts.{fiche['mart']} where {where}", [value]
            ).fetchall()
            if rows:
                keys.add(f"{name}/{perimetre}")
    return keys


def _keys(datasets: list[dict]) -> set[str]:
    return {d["extras"]["opendata-mel:jeu"] for d in datasets}


def _download(url: str, path: Path) -> Path:
    path.write_bytes(requests.get(url, timeout=30).content)
    return path


def test_every_fiche_is_published_for_the_mel_and_two_communes_with_their_catalogue(
    platform, tmp_path
):
    platform.opt_in("59009")  # Villeneuve-d'Ascq, whose SIRET is not given: no catalogue
    warehouse = Settings.from_env().warehouse

    report = platform.publish(datasets=None)

    kinds = {"mel": "epci", "59522": "commune", "59009": "commune"}
    for perimetre, kind in kinds.items():
        published = _keys(platform.datasets(perimetre)) - {f"catalogue/{perimetre}"}
        assert published == _expected_keys(warehouse, perimetre, kind), perimetre
        assert len(published) >= 8, perimetre  # every mart of the test warehouse has rows
    population = platform.dataset("59522", "population")
    assert population["title"] == "Population — Sailly-lez-Lannoy"
    assert (
        platform.dataset("mel", "logement")["title"] == "Logement — Métropole Européenne de Lille"
    )
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        [(first, last)] = conn.execute(
            "select min(millesime), max(millesime) from marts.population where code_commune = ?",
            ["59522"],
        ).fetchall()
        [(label, unit)] = conn.execute(
            "select arg_max(libelle, millesime), arg_max(unite, millesime) from ref.variables "
            "where source_id = 'insee_evol_struct_pop' and variable = 'hommes'"
        ).fetchall()
    assert first < last  # the history, not only the newest millésime
    assert population["temporal_coverage"] == {"start": f"{first}-01-01", "end": f"{last}-12-31"}
    for section in ("## Contenu", "## Sources", "## Colonnes", "## Notes légales"):
        assert section in population["description"]
    assert f"| `hommes` | {label} ({unit}) |" in population["description"]  # ref.variables
    resources = {r["extras"]["opendata-mel:ressource"]: r for r in population["resources"]}
    assert sorted(resources) == RESOURCES
    dictionary = _download(resources["dictionnaire"]["url"], tmp_path / "dictionnaire.csv")
    described = dict(csv.reader(dictionary.read_text(encoding="utf-8").splitlines()))
    assert described["hommes"] == f"{label} ({unit})"
    assert described["code_commune"]  # from catalog/colonnes.yaml
    evidence = requests.get(resources["controles"]["url"], timeout=30).text
    assert "`expectations/population.json`" in evidence and "| Règle |" in evidence

    # The catalogue of each organisation lists exactly what it publishes.
    schema = ROOT / "catalog" / "schemas" / "scdl-catalogue-0.1.3.json"
    for perimetre in ("mel", "59522"):
        catalogue = platform.dataset(perimetre, "catalogue")
        [data] = [r for r in catalogue["resources"] if r["type"] == "main"]
        assert (data["schema"]["name"], data["schema"]["version"]) == ("scdl/catalogue", "0.1.3")
        path = _download(data["url"], tmp_path / f"catalogue-{perimetre}.csv")
        assert validate(path, schema).conforme, validate(path, schema).lines()
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
        others = [d for d in platform.datasets(perimetre) if d["id"] != catalogue["id"]]
        assert sorted(row["ID"] for row in rows) == sorted(d["id"] for d in others)
        by_id = {d["id"]: d for d in others}
        for row in rows:
            dataset = by_id[row["ID"]]
            assert row["TITRE"] == dataset["title"]
            assert row["NOMBRE_RESSOURCES"] == str(len(dataset["resources"]))
            assert row["URL"] == dataset["page"]
            assert row["DATE_PUBL"] == dataset["created_at"][:10]
        assert {row["COLL_SIRET"] for row in rows} == {
            {"mel": "20009320100016", "59522": SIRET_SAILLY}[perimetre]
        }
    plans = {p.key: p for p in report.datasets}
    assert plans["catalogue/59009"].action == "non publié (configuration à compléter)"
    assert "siret" in plans["catalogue/59009"].reason
    assert "catalogue/59009" not in _keys(platform.datasets("59009"))
    summary = report.summary()
    assert f"pour 3 périmètre(s) et 3 organisation(s) : {len(report.datasets) - 1}" in summary

    start = len(platform.proxy.writes())
    again = platform.publish(datasets=None)
    assert platform.proxy.writes()[start:] == []  # catalogues and evidence byte-identical
    assert not any(plan.touched for plan in again.datasets)


def _nord_rows_of_rp2018(target: Path) -> Path:
    """The real RP 2018 comparateur of France (samples/reference), its Nord rows only."""
    shutil.copy(
        ROOT / "samples" / "reference" / "base_cc_comparateur_RP2018_FRANCE_csv.zip", target
    )
    with zipfile.ZipFile(target) as source:
        members = {m.filename: source.read(m) for m in source.infolist()}
    lines = members["base_cc_comparateur.CSV"].decode("utf-8").splitlines(keepends=True)
    members["base_cc_comparateur.CSV"] = "".join(
        line for n, line in enumerate(lines) if n == 0 or line.startswith("59")
    ).encode("utf-8")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return target


def test_a_new_millesime_adds_rows_and_keeps_no_old_version(platform, tmp_path):
    platform.publish(datasets=["comparateur"])
    before = platform.dataset("mel", "comparateur")
    settings = Settings.from_env()
    source = load_registry().sources["insee_comparateur"]
    import_file(RawStore(settings.raw_dir), source, _nord_rows_of_rp2018(tmp_path / "rp.zip"), 2018)
    yearly_refresh(sources=["insee_comparateur"])

    report = platform.publish(datasets=["comparateur"], outcomes=None)

    after = platform.dataset("mel", "comparateur")
    assert after["temporal_coverage"] == {"start": "2018-01-01", "end": "2022-12-31"}
    assert [r["id"] for r in after["resources"]] == [r["id"] for r in before["resources"]]
    assert not [r for r in after["resources"] if r["extras"].get("opendata-mel:archive-de")]
    journal = _data(after)["description"]
    added = re.search(r"(\d+) ligne\(s\) ajoutée\(s\), 0 supprimée\(s\), 0 modifiée\(s\)", journal)
    assert added and int(added.group(1)) > 0
    assert "version précédente conservée" not in journal
    plan = {p.key: p for p in report.datasets}["comparateur/mel"]
    assert plan.resources[0].action == "remplacer le fichier" and plan.archives == 0


def test_a_commune_added_to_the_configuration_is_published_on_the_next_run(platform):
    fiches = ["population", "catalogue"]
    platform.publish(datasets=fiches)
    before = {p: {d["id"]: d for d in platform.datasets(p)} for p in ("mel", "59522")}
    start = len(platform.proxy.writes())

    platform.opt_in("59009")  # one entry in catalog/publication.yaml, nothing else
    report = platform.publish(datasets=fiches)

    [created] = platform.datasets("59009")
    assert created["extras"]["opendata-mel:jeu"] == "population/59009"
    assert created["title"] == "Population — Villeneuve-d'Ascq"  # named from the COG
    writes = platform.proxy.writes()[start:]
    assert writes and all(
        path == "/api/1/datasets/" or f"/datasets/{created['id']}/" in path for _, path in writes
    )
    for perimetre, datasets in before.items():
        assert {d["id"]: d for d in platform.datasets(perimetre)} == datasets
    assert {p.key for p in report.datasets if p.touched} == {"population/59009"}


def test_a_429_storm_in_the_middle_of_95_communes_resumes_without_duplicates(
    platform, udata_server, monkeypatch
):
    if udata_server["bulk_taken"]:
        pytest.fail("les organisations des 95 communes servent à un seul test par session")
    udata_server["bulk_taken"] = True
    communes = udata_server["bulk"]  # code → organisation, the 95 communes of the MEL
    assert len(communes) == 95
    platform.configure(
        lambda config: config["perimetres"].update(
            {
                code: {"commune": code, "organisations": {"demo": org}}
                for code, org in communes.items()
            }
        )
    )
    # From the 41st dataset on, data.gouv.fr refuses every creation for an hour.
    storm = Fault(
        "POST",
        r"/api/1/datasets/$",
        status=429,
        headers={"Retry-After": "3600"},
        times=10**6,
        skip=40,
    )
    platform.proxy.fail(storm)

    state = platform.publish(datasets=["communes"], perimetres=list(communes), return_state=True)

    with pytest.raises(TransientPublicationError) as error:
        state.result()
    assert "3600 s" in error.value.message and "Retry-After" in error.value.message
    assert "reprend là où elle s'est arrêtée" in error.value.action
    published = [code for code in communes if platform.datasets_of(communes[code])]
    assert len(published) == 40
    platform.proxy.faults.clear()

    report = platform.publish(datasets=["communes"], perimetres=list(communes))

    actions = [p.action for p in report.datasets]
    assert actions.count("créer") == 55 and actions.count("inchangé") == 40
    for code, organisation in communes.items():
        [dataset] = platform.datasets_of(organisation)
        assert dataset["extras"]["opendata-mel:jeu"] == f"communes/{code}"
        resources = sorted(r["extras"].get("opendata-mel:ressource") for r in dataset["resources"])
        assert resources == RESOURCES, code
