"""Publishing everything the warehouse knows, for every perimeter, to a real udata on
127.0.0.1: every fiche for the MEL and two communes with their catalogue, a new
millésime, a commune added to the configuration (the 429 storm across 95 communes:
tests/test_publish_storm.py)."""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest
import requests
import yaml

from flows.yearly_refresh import yearly_refresh
from tasks.core.settings import Settings
from tasks.quality.schema.validate import validate
from tasks.sources.imports import import_file
from tasks.sources.raw_store import RawStore
from tasks.sources.registry import load_registry
from tests.conftest import ROOT
from tests.publication_platform import RESOURCES, SIRET_SAILLY, data_resource

pytestmark = pytest.mark.usefixtures("prefect_api")


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
    journal = data_resource(after)["description"]
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
