"""The rules of the publication that need no platform: perimeters from the configuration,
when a published file is kept before it is replaced, the quality evidence, the SCDL
catalogue of an organisation, and the plan grouped by organisation."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tasks.core.errors import ConfigurationError
from tasks.publication import changelog, data_catalogue, evidence
from tasks.publication.catalog import load_catalog
from tasks.publication.plan import PublicationReport
from tasks.publication.prepare import archive_title, schema_of, schema_path
from tasks.publication.reconcile import NO_DATA, DatasetPlan, ResourcePlan
from tasks.publication.steps import organisation_groups
from tasks.quality.gate import Outcome
from tasks.quality.schema.validate import validate
from tests.conftest import ROOT
from tests.unit.conftest import fiche_named


@pytest.fixture
def catalog_copy(tmp_path):
    target = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", target)
    return target


def _configure(folder, change) -> None:
    path = folder / "publication.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(config)
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")


# Perimeters ------------------------------------------------------------------------------
def test_a_commune_opts_in_with_one_entry_and_every_fiche_publishes_for_it(catalog_copy):
    _configure(
        catalog_copy,
        lambda c: c["perimetres"].update(
            {"59009": {"commune": "59009", "organisations": {"demo": "org-va"}}}
        ),
    )
    catalog = load_catalog(catalog_copy)
    villeneuve = catalog.perimetres["59009"]
    assert (villeneuve.kind, villeneuve.valeur, villeneuve.colonne) == (
        "commune",
        "59009",
        "code_commune",
    )
    assert villeneuve.zones == ["fr:commune:59009"]
    assert villeneuve.organisation("demo") == "org-va" and villeneuve.organisation("prod") is None
    assert villeneuve.nom is None  # named from the COG of the run
    named = catalog.named({"59009": "Villeneuve-d'Ascq"}).perimetres["59009"]
    assert named.nom_collectivite == "Commune de Villeneuve-d'Ascq"
    assert catalog.perimetres["mel"].nom_collectivite == "Métropole Européenne de Lille"
    publishing = [f.name for f in catalog.marts() if f.publishes_for(villeneuve)]
    assert "population" in publishing and "subventions" in publishing
    assert [f.name for f in catalog.marts() if not f.publishes_for(catalog.perimetres["mel"])] == [
        "subventions"
    ]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"nom": "Ailleurs"}, "indiquez soit `epci: <SIREN>`, soit `commune: <code INSEE>`"),
        ({"commune": "59009", "epci": "200093201"}, "indiquez soit"),
        ({"commune": "59009", "organisation": "x"}, "champ(s) inconnu(s) : organisation"),
        ({"commune": "59009", "siret": "2159"}, "SIRET « 2159 » : 14 chiffres attendus"),
    ],
)
def test_a_badly_described_perimeter_is_refused_in_french(catalog_copy, entry, problem):
    _configure(catalog_copy, lambda c: c["perimetres"].update({"59009": entry}))
    with pytest.raises(ConfigurationError) as error:
        load_catalog(catalog_copy)
    assert "périmètre 59009 mal décrit" in error.value.message
    assert problem in error.value.message and "perimetres.59009" in error.value.message


def test_perimeters_sharing_an_organisation_publish_one_catalogue(catalog_copy):
    _configure(
        catalog_copy,
        lambda c: (
            c["perimetres"]["mel"]["organisations"].update(demo="org-mel"),
            c["perimetres"]["59522"]["organisations"].update(demo="org-mel"),
            c["perimetres"].update({"59009": {"commune": "59009"}}),
        ),
    )
    catalog = load_catalog(catalog_copy)
    assert organisation_groups(catalog, ["59009", "59522", "mel"], "demo") == [
        ["mel", "59522"],
        ["59009"],  # no organisation: a group of its own
    ]
    assert organisation_groups(catalog, ["59522"], "prod") == [["59522"]]


# Keeping a published file before it is replaced -----------------------------------------
def _changes(previous: dict | None, current: dict) -> changelog.Changes:
    return changelog.compare(previous, current)


def test_only_added_rows_replace_the_file_without_keeping_it():
    before = {'["2018"]': {"valeur": 1}}
    assert not _changes(before, {**before, '["2022"]': {"valeur": 2}}).revises


@pytest.mark.parametrize(
    "current",
    [
        {'["2018"]': {"valeur": 3}},  # a revised figure
        {'["2022"]': {"valeur": 2}},  # a row removed (and one added)
    ],
)
def test_a_changed_or_removed_row_keeps_the_published_file(current):
    assert _changes({'["2018"]': {"valeur": 1}}, current).revises


def test_an_unknown_baseline_keeps_the_published_file():
    assert _changes(None, {'["2018"]': {"valeur": 1}}).revises


def test_the_kept_version_is_named_after_the_replaced_files_entry():
    journal = changelog.journal(
        changelog.journal("", "- **2025-07-15** (millésime(s) 2021) : première publication"),
        "- **2026-07-15** (millésime(s) 2022) : 3 ligne(s) ajoutée(s)",
    )
    assert changelog.dates(journal) == ["2026-07-15", "2025-07-15"]
    assert archive_title(journal) == "Version du 2026-07-15 (remplacée)"
    assert archive_title("") == "Version précédente (remplacée)"


# Quality evidence ------------------------------------------------------------------------
def _outcomes() -> list[Outcome]:
    return [
        Outcome("population", "expect_column_values_to_not_be_null", "code renseigné",
                "code_commune", "critical", True),
        Outcome("population", "expect_column_values_to_be_between",
                "taux_mortalite est compris entre 0 et 100", "taux_mortalite", "warning", False,
                unexpected_count=3, samples=["70381 Neurey-lès-la-Demie : 124.44"]),
        Outcome("logement", "expect_column_values_to_be_unique", "autre mart", "code_commune",
                "critical", False),
    ]  # fmt: skip


def test_the_evidence_lists_the_suite_rules_results_and_warnings(catalog):
    fiche = fiche_named(catalog, "population")
    text = evidence.markdown(fiche, _outcomes(), [])
    assert text.startswith("# Contrôles de qualité des données « population »")
    assert "suite Great Expectations `population`" in text
    assert "Résultat : 2 contrôle(s), 1 réussi(s), 1 avertissement(s), 0 échec(s)" in text
    assert "| code renseigné | code_commune | bloquant | réussi |" in text
    assert "| taux_mortalite est compris entre 0 et 100 | taux_mortalite | avertissement |" in text
    assert "3 valeur(s) en écart ; exemples : 70381 Neurey-lès-la-Demie : 124.44" in text
    assert "autre mart" not in text  # only the checks that gate this dataset


def test_the_evidence_is_the_same_bytes_for_the_same_checks(catalog):
    fiche = fiche_named(catalog, "population")
    assert evidence.markdown(fiche, _outcomes(), []) == evidence.markdown(fiche, _outcomes(), [])


def test_a_standards_evidence_says_it_was_validated(catalog):
    text = evidence.markdown(fiche_named(catalog, "subventions"), [], ["Ligne 3 : remarque"])
    assert "## Conformité au schéma scdl/subventions 2.1.1" in text
    assert "Résultat : conforme, avec des remarques :\n- Ligne 3 : remarque" in text


# The SCDL catalogue ----------------------------------------------------------------------
def _entry(**changes) -> dict:
    row = {
        "ID": "6b0000000000000000000001",
        "TITRE": "Population — Sailly-lez-Lannoy",
        "DESCRIPTION": "La population de la commune.",
        "THEME": "Population",
        "COUV_SPAT_MAILLE": "Communale",
        "COUV_SPAT_NOM": "Sailly-lez-Lannoy",
        "COUV_TEMP_DEBUT": "2016-01-01",
        "COUV_TEMP_FIN": "2022-12-31",
        "DATE_PUBL": "2026-07-15",
        "FREQ_MAJ": "Annuelle",
        "DATE_MAJ": "2026-07-15",
        "MOTS_CLES": "insee;population",
        "LICENCE": "Licence Ouverte-LO",
        "NOMBRE_RESSOURCES": 3,
        "FORMAT_RESSOURCES": "csv;txt",
        "URL": "https://demo.data.gouv.fr/datasets/population-sailly-lez-lannoy/",
    }
    return {**row, **changes}


def test_the_catalogue_follows_the_official_schema(catalog, tmp_path):
    fiche = catalog.catalogue()
    mel = catalog.perimetres["mel"]
    table = data_catalogue.frame(fiche, mel, schema_of(fiche), [_entry(ID="b"), _entry(ID="a")])
    assert list(table.columns) == [f["name"] for f in schema_of(fiche)["fields"]]
    assert list(table["ID"]) == ["a", "b"]  # in key order: the same bytes every time
    assert set(table["COLL_SIRET"]) == {"20009320100016"}
    assert set(table["COLL_NOM"]) == {"Métropole Européenne de Lille"}
    path = tmp_path / "catalogue.csv"
    table.to_csv(path, index=False)
    assert validate(path, schema_path(fiche)).conforme


def test_a_catalogue_with_an_invalid_siret_is_not_conforming(catalog, tmp_path):
    fiche = catalog.catalogue()
    mel = catalog.perimetres["mel"]
    table = data_catalogue.frame(fiche, mel, schema_of(fiche), [_entry()])
    table["COLL_SIRET"] = "20009320100017"  # Luhn key broken
    path = tmp_path / "catalogue.csv"
    table.to_csv(path, index=False)
    assert not validate(path, schema_path(fiche)).conforme


def test_the_platforms_codes_are_said_in_the_scdls_words():
    assert data_catalogue.FREQUENCIES["annual"] == "Annuelle"
    assert data_catalogue.LICENCES["lov2"] == "Licence Ouverte-LO"
    enum = {f["name"]: f for f in schema_of_catalogue()["fields"]}
    assert set(data_catalogue.FREQUENCIES.values()) <= set(enum["FREQ_MAJ"]["constraints"]["enum"])
    assert set(data_catalogue.LICENCES.values()) <= set(enum["LICENCE"]["constraints"]["enum"])
    mailles = set(enum["COUV_SPAT_MAILLE"]["constraints"]["enum"])
    assert set(data_catalogue.MAILLES.values()) <= mailles


def schema_of_catalogue() -> dict:
    return schema_of(load_catalog(ROOT / "catalog").catalogue())


# The plan --------------------------------------------------------------------------------
def test_the_plan_groups_its_lines_by_organisation_and_perimeter():
    plans = [
        DatasetPlan("population/mel", "Population — MEL", "créer", perimetre="mel",
                    organisation="org-mel",
                    resources=[ResourcePlan("donnees", "population-mel.csv", "téléverser")]),
        DatasetPlan("population/59522", "Population — Sailly", "inchangé", perimetre="59522",
                    organisation="org-sailly"),
        DatasetPlan("subventions/59522", "Subventions — Sailly", NO_DATA, perimetre="59522",
                    organisation="org-sailly"),
    ]  # fmt: skip
    report = PublicationReport(
        "demo", "bac à sable", True, "l'entrepôt", plans,
        perimeter_names={"mel": "Métropole Européenne de Lille", "59522": "Sailly-lez-Lannoy"},
    )  # fmt: skip
    lines = report.text().splitlines()
    assert lines.index("Organisation org-mel :") < lines.index("Organisation org-sailly :")
    assert "  Périmètre 59522 — Sailly-lez-Lannoy :" in lines
    assert "    sans lignes pour ce périmètre : subventions" in lines
    assert report.summary() == (
        "Bilan : 2 jeu(x) pour 2 périmètre(s) et 2 organisation(s) : 1 à créer ou modifier, "
        "1 inchangé(s), 0 bloqué(s), 0 en attente d'une source, 0 à compléter ; "
        "0 ancienne(s) version(s) conservée(s)."
    )
