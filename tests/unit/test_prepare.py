"""What a fiche publishes, prepared from a mart (tasks/publication/prepare.py): the files
written, their sha1, the metadata, the changelog, and the checks before anything is sent."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from tasks.core.errors import ConfigurationError, InvalidData
from tasks.publication import changelog
from tasks.publication.catalog import Perimetre, load_catalog
from tasks.publication.prepare import (
    DATA,
    DICTIONARY,
    KEY_EXTRA,
    QUALITY,
    Record,
    column_descriptions,
    fingerprint,
    prepare,
)
from tests.conftest import FIXTURES
from tests.unit.conftest import (
    COG,
    TINY_COMMUNES,
    build_models,
    fiche_named,
    mel_members,
    publication_request,
    real_communes,
)

SCDL_EXAMPLE = FIXTURES / "scdl-subventions" / "exemple_valide.csv"
# The official SCDL example is Antibes' (SIRET 21060004500392): a perimeter of its own,
# invented for these tests (the catalogue publishes subsidies for 59522 only).
ANTIBES = Perimetre("06004", "Antibes", "commune", "06004", ["fr:commune:06004"])
# Lines 24, 25, 27 and 29 of the example hold impossible payment periods (its README).
PUBLISHABLE_ROWS = 22


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def mel_extract() -> list[dict]:
    """The MEL communes of the tiny référentiel, as the sample gives them, by code."""
    members = [c for c in real_communes(*TINY_COMMUNES) if c["code"] in mel_members()]
    return sorted(members, key=lambda c: c["code"])


def resource(prepared, key: str):
    return next(r for r in prepared.resources if r.key == key)


@pytest.fixture
def request_mel(catalog, registry, tmp_path):
    return publication_request(catalog, registry, tmp_path / "publication")


# Files ---------------------------------------------------------------------------------
def test_the_data_file_holds_the_perimeter_rows_in_key_order(prepared):
    data = resource(prepared, DATA)
    assert data.path.name == "communes-mel.csv"
    rows = read_csv(data.path)
    expected = mel_extract()
    assert [(r["code_commune"], r["nom_commune"]) for r in rows] == [
        (c["code"], c["nom"]) for c in expected
    ]
    for row, commune in zip(rows, expected, strict=True):
        assert row["population_municipale"] == str(commune["population"])
        assert row["codes_postaux"] == "|".join(commune["codesPostaux"])
        assert (row["is_mel"], row["millesime_cog"]) == ("true", str(COG))
    assert list(rows[0]) == list(prepared.colonnes)
    assert prepared.rows == len(expected)


def test_the_dictionary_gives_each_column_its_description(prepared):
    dictionary = resource(prepared, DICTIONARY)
    assert dictionary.path.name == "communes-dictionnaire.csv"
    rows = read_csv(dictionary.path)
    assert {r["colonne"]: r["description"] for r in rows} == prepared.colonnes
    assert [r["colonne"] for r in rows] == list(read_csv(resource(prepared, DATA).path)[0])
    # a column the fiche does not describe takes the shared description
    assert prepared.colonnes["code_commune"] == load_catalog().colonnes["code_commune"]
    assert dictionary.metadata["type"] == "documentation"
    assert (
        dictionary.metadata["title"] == f"Dictionnaire des colonnes : {prepared.metadata['title']}"
    )


def test_each_resource_carries_the_sha1_of_its_file(prepared):
    for item in prepared.resources:
        assert item.sha1 == hashlib.sha1(item.path.read_bytes()).hexdigest()
        assert item.content == item.path.read_bytes()


def test_the_snapshot_is_the_published_rows_by_key(prepared):
    codes = sorted(json.loads(key)[0] for key in prepared.snapshot)
    assert codes == [c["code"] for c in mel_extract()]


# Metadata ------------------------------------------------------------------------------
def test_the_dataset_metadata_are_filled_from_the_perimeter_and_the_data(prepared):
    metadata, fiche = prepared.metadata, prepared.fiche
    nom = prepared.perimetre.nom
    assert metadata["title"] == fiche.titre.format(perimetre=nom)
    assert metadata["title"].endswith(f" — {nom}")
    assert (
        f"La liste des {len(mel_extract())} commune(s) du périmètre « {nom} »"
        in (metadata["description"])
    )
    assert f"(COG {COG})" in metadata["description"]
    assert "{" not in metadata["description"]  # every placeholder filled
    assert (metadata["license"], metadata["frequency"]) == ("lov2", "annual")
    assert metadata["tags"] == sorted(set(fiche.mots_cles))
    assert metadata["spatial"] == {"zones": ["fr:epci:200093201"], "granularity": "fr:commune"}
    assert metadata["temporal_coverage"] == {"start": f"{COG}-01-01", "end": f"{COG}-12-31"}
    assert metadata["extras"] == {KEY_EXTRA: "communes/mel"}
    assert "organization" not in metadata


def test_the_sources_are_listed_with_the_millesimes_loaded(prepared, registry):
    description = prepared.metadata["description"]
    for source_id in prepared.fiche.sources:
        source = registry.sources[source_id]
        address = source.url.split("?")[0]
        assert (
            f"- {source.title} ({source.producer}), millésime(s) {COG} : <{address}>"
        ) in description


def test_an_organisation_is_sent_when_the_perimeter_has_one(
    communes_mart, catalog, registry, tmp_path
):
    request = publication_request(catalog, registry, tmp_path, organisation="org-mel")
    assert prepare(communes_mart, request, {}, None).metadata["organization"] == "org-mel"


# Changelog -----------------------------------------------------------------------------
def test_a_first_publication_starts_the_journal(prepared):
    data = resource(prepared, DATA)
    assert data.changes.first
    entry = f"- **2026-11-29** (millésime(s) {COG}) : première publication ({prepared.rows} lignes)"
    assert data.entry == entry
    assert data.metadata["description"] == f"{data.base}\n\n{changelog.HEADING}\n\n{entry}"
    assert data.base.startswith(f"{prepared.rows} lignes, millésime(s) {COG}. Fichier CSV")


def test_a_revised_population_is_logged_above_the_previous_entries(
    communes_mart, request_mel, prepared
):
    lille = next(c for c in mel_extract() if c["nom"] == "Lille")
    key = next(k for k in prepared.snapshot if json.loads(k)[0] == lille["code"])
    previous_rows = json.loads(json.dumps(prepared.snapshot))
    previous_rows[key]["population_municipale"] = lille["population"] - 100
    old_journal = changelog.journal("", "- **2025-11-30** (millésime(s) 2025) : ancienne")
    prior = Record("jeu", "ressource", "0" * 40, old_journal)
    again = prepare(communes_mart, request_mel, {DATA: prior}, previous_rows)
    data = resource(again, DATA)
    assert (data.changes.changed, data.changes.added, data.changes.removed) == (1, 0, 0)
    label = " · ".join(json.loads(key))
    journal = changelog.journal_of(data.metadata["description"]).splitlines()
    assert journal[2] == (
        f"- **2026-11-29** (millésime(s) {COG}) : 0 ligne(s) ajoutée(s), 0 supprimée(s), "
        "1 modifiée(s) (par colonne : population_municipale : 1). Exemples : "
        f"{label} population_municipale : {lille['population'] - 100} → {lille['population']}"
        " ; version précédente conservée : « Version du 2025-11-30 (remplacée) »"
    )
    assert data.revises  # a published figure changed: the previous file is kept
    assert journal[3] == "- **2025-11-30** (millésime(s) 2025) : ancienne"


def test_a_file_identical_to_the_published_one_gets_no_new_entry(
    communes_mart, request_mel, prepared
):
    data = resource(prepared, DATA)
    old_journal = changelog.journal("", "- **2025-11-30** (millésime(s) 2025) : ancienne")
    prior = Record("jeu", "ressource", data.sha1, old_journal)
    again = resource(prepare(communes_mart, request_mel, {DATA: prior}, prepared.snapshot), DATA)
    assert again.sha1 == data.sha1
    assert again.entry is None and again.changes is None
    assert again.metadata["description"] == f"{again.base}\n\n{old_journal}"


# Checks before sending -----------------------------------------------------------------
def test_an_undescribed_mart_column_is_refused_in_french(communes_mart, catalog):
    communes_mart.execute("alter table marts.communes add column surface double")
    communes_mart.execute("alter table marts.communes drop column siren")
    fiche = fiche_named(catalog, "communes")
    with pytest.raises(ConfigurationError) as error:
        column_descriptions(communes_mart, fiche, _columns(communes_mart), catalog.colonnes)
    message = error.value.message
    assert message.startswith("Configuration invalide : les colonnes décrites dans la fiche")
    assert f"(sans description : surface ; inconnues du mart : {OWN})" in message
    assert str(fiche.path) in message and "décrivez-les sous `colonnes`" in message


def _columns(conn) -> list[str]:
    return conn.table("marts.communes").columns


# A column of the communes mart only its fiche describes.
OWN = "siren"


def test_internal_columns_need_no_description(communes_mart, catalog):
    communes_mart.execute("alter table marts.communes add column surface double")
    fiche = dataclasses.replace(fiche_named(catalog, "communes"), colonnes_internes=["surface"])
    described = column_descriptions(communes_mart, fiche, _columns(communes_mart), catalog.colonnes)
    assert "surface" not in described and list(described) == [
        c for c in _columns(communes_mart) if c != "surface"
    ]


def test_a_column_named_after_a_registry_variable_takes_its_label(conn, catalog):
    conn.execute(
        "insert into ref.variables values ('insee_comparateur', 2018, 'P18_POP', 'population', "
        "'Population municipale', 'habitants', 'population', true), ('insee_comparateur', "
        "2022, 'P22_POP', 'population', 'Population municipale (RP)', 'habitants', "
        "'population', true)"
    )
    conn.execute("create schema if not exists marts")
    conn.execute("create table marts.comparateur as select 2022 as millesime, 1.0 as population")
    fiche = dataclasses.replace(
        fiche_named(catalog, "comparateur"), sources=["insee_comparateur"], colonnes={}
    )
    described = column_descriptions(conn, fiche, ["millesime", "population"], {"millesime": "x"})
    # the newest millésime's label, with its unit
    assert described == {"millesime": "x", "population": "Population municipale (RP) (habitants)"}


def test_the_quality_evidence_is_a_documentation_resource(prepared):
    quality = resource(prepared, QUALITY)
    assert quality.path.name == "communes-mel-controles.txt"
    assert quality.metadata["type"] == "documentation"
    assert quality.path.read_text(encoding="utf-8").startswith("# Contrôles de qualité des données")


def test_the_fingerprint_ignores_the_id_and_the_key_order():
    metadata = {"title": "Communes", "extras": {KEY_EXTRA: "communes/mel"}}
    same = {"extras": {KEY_EXTRA: "communes/mel"}, "title": "Communes", "id": "abc"}
    assert fingerprint(metadata) == fingerprint(same)
    assert fingerprint(metadata) != fingerprint({**metadata, "title": "Communes (révisé)"})


# A standard's file (SCDL subventions) --------------------------------------------------
def subsidies_mart(conn, rows: int | None = None) -> list[dict]:
    """`marts.subventions` built by the real models from the official SCDL example, its
    rows given to Antibes (06004); returns the rows used."""
    used = read_csv(SCDL_EXAMPLE)[:rows]
    conn.execute(
        "insert into raw.subventions by name select '06004' as code_commune, "
        'year("dateConvention"::date) as annee, *, ? as _fichier, '
        "row_number() over () + 1 as _ligne from read_csv(?, all_varchar = true) limit ?",
        [SCDL_EXAMPLE.name, str(SCDL_EXAMPLE), len(used)],
    )
    build_models(conn, "stg_subventions", "subventions")
    return used


@pytest.fixture
def subsidies_request(catalog, registry, tmp_path):
    request = publication_request(catalog, registry, tmp_path, fiche="subventions")
    return dataclasses.replace(request, perimetre=ANTIBES)


def test_a_standard_file_is_named_from_its_data_and_replaces_the_previous(
    communes_mart, subsidies_request, tmp_path
):
    used = subsidies_mart(communes_mart, PUBLISHABLE_ROWS)
    own = tmp_path / "subventions-06004"
    own.mkdir()
    (own / "20150101_210600045_antibes.csv").write_text("ancien", encoding="utf-8")
    prepared = prepare(communes_mart, subsidies_request, {}, None)
    data = resource(prepared, DATA)
    newest = max(row["dateConvention"] for row in used).replace("-", "")
    siren = used[0]["idAttribuant"][:9]
    assert data.path == own / f"{newest}_{siren}_antibes.csv"
    assert [p.name for p in own.iterdir()] == [data.path.name]
    assert data.metadata["title"] == data.path.name
    assert data.metadata["schema"] == {"name": "scdl/subventions", "version": "2.1.1"}
    rows = read_csv(data.path)
    assert len(rows) == len(used)
    # the internal columns are read, never published
    assert list(rows[0]) == list(used[0])


def test_a_file_failing_its_standard_is_never_prepared(communes_mart, subsidies_request):
    subsidies_mart(communes_mart)  # with the impossible payment periods
    with pytest.raises(InvalidData) as error:
        prepare(communes_mart, subsidies_request, {}, None)
    message = error.value.message
    assert "n'est pas conforme au schéma scdl/subventions 2.1.1" in message
    assert "Période de versement inversée" in message
    assert "rien n'a été publié" in message


def test_a_file_name_column_with_two_values_is_refused(communes_mart, subsidies_request):
    subsidies_mart(communes_mart, PUBLISHABLE_ROWS)
    # invented: a second attribuant in the same perimeter
    communes_mart.execute(
        "update marts.subventions set siren_attribuant = '215905225' where montant > 100000"
    )
    with pytest.raises(InvalidData) as error:
        prepare(communes_mart, subsidies_request, {}, None)
    assert (
        "prend la colonne siren_attribuant, qui a 2 valeur(s) dans le périmètre 06004 au lieu d'une"
    ) in error.value.message
