"""The publication catalogue: fiches, perimeters, and the ids the run writes back."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tasks.core.errors import ConfigurationError
from tasks.publication.catalog import load_catalog, record_dataset_id
from tests.conftest import ROOT


@pytest.fixture
def catalog_copy(tmp_path):
    target = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", target)
    return target


def test_every_mart_has_a_complete_fiche():
    catalog = load_catalog(ROOT / "catalog")
    marts = {path.stem for path in (ROOT / "warehouse" / "marts").glob("*.sql")}
    assert {f.mart for f in catalog.marts()} == marts
    assert catalog.catalogue().name == "catalogue"
    for fiche in catalog.fiches:
        assert fiche.licence == "lov2", fiche.name
        assert fiche.titre.endswith(" — {perimetre}"), fiche.name
        assert fiche.theme and len(fiche.theme) <= 140
        assert set(fiche.publie_pour) <= {"epci", "commune"} and fiche.publie_pour
        assert all(3 <= len(tag) <= 96 for tag in fiche.mots_cles)
        # published for any perimeter: no place name among the tags
        assert not {"sailly-lez-lannoy", "metropole-europeenne-de-lille"} & set(fiche.mots_cles)
        for section in (
            "## Contenu",
            "## Processus de collecte",
            "## Usages",
            "## Notes légales",
            "## Colonnes",
        ):
            assert section in fiche.description, (fiche.name, section)
        assert all(
            envs.get(env) is None for envs in fiche.datagouv.values() for env in ("demo", "prod")
        )
    for fiche in catalog.marts():
        assert fiche.frequence == "annual"
        assert (ROOT / "expectations" / f"{fiche.suite}.json").exists()
        assert "## Sources" in fiche.description


def test_a_created_id_is_written_into_the_fiche_keeping_its_comments(catalog_copy):
    fiche = next(f for f in load_catalog(catalog_copy).fiches if f.name == "comparateur")
    record_dataset_id(fiche, "59522", "demo", "6b0000000000000000000001")
    text = fiche.path.read_text(encoding="utf-8")
    assert text.startswith("# Fiche descriptive")
    assert "## Processus de collecte" in text
    reread = next(f for f in load_catalog(catalog_copy).fiches if f.name == "comparateur")
    assert reread.dataset_id("59522", "demo") == "6b0000000000000000000001"
    assert reread.dataset_id("mel", "demo") is None and reread.dataset_id("59522", "prod") is None
    assert yaml.safe_load(text)["mart"] == "comparateur"


def test_a_fiche_for_an_unknown_kind_of_perimeter_is_refused(catalog_copy):
    fiche = catalog_copy / "fiches" / "communes.yaml"
    text = fiche.read_text(encoding="utf-8")
    assert "publie_pour: [epci, commune]" in text
    fiche.write_text(text.replace("publie_pour: [epci, commune]", "publie_pour: [region]"), "utf-8")
    with pytest.raises(ConfigurationError) as error:
        load_catalog(catalog_copy)
    assert "`publie_pour` attend une liste parmi : epci, commune" in error.value.message
    assert "communes.yaml" in error.value.message


def test_an_unknown_environment_is_refused():
    with pytest.raises(ConfigurationError) as error:
        load_catalog(ROOT / "catalog").environment("preprod")
    assert "demo, prod" in error.value.message
