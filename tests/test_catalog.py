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


def test_every_fiche_is_complete():
    catalog = load_catalog(ROOT / "catalog")
    assert {f.name for f in catalog.fiches} == {"communes", "comparateur", "subventions"}
    for fiche in catalog.fiches:
        assert fiche.licence == "lov2" and fiche.frequence == "annual"
        assert (ROOT / "expectations" / f"{fiche.suite}.json").exists()
        assert (ROOT / "warehouse" / "marts" / f"{fiche.mart}.sql").exists()
        assert set(fiche.cle) <= set(fiche.colonnes)
        assert all(3 <= len(tag) <= 96 for tag in fiche.mots_cles)
        for section in (
            "## Contenu",
            "## Processus de collecte",
            "## Sources",
            "## Usages",
            "## Notes légales",
            "## Colonnes",
        ):
            assert section in fiche.description, (fiche.name, section)
        assert all(
            fiche.dataset_id(p, env) is None for p in fiche.perimetres for env in ("demo", "prod")
        )


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


def test_a_fiche_for_an_unknown_perimeter_is_refused(catalog_copy):
    fiche = catalog_copy / "fiches" / "communes.yaml"
    fiche.write_text(
        fiche.read_text(encoding="utf-8").replace(
            "perimetres: [mel]", "perimetres: [mel, '59999']"
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as error:
        load_catalog(catalog_copy)
    assert "59999" in error.value.message and "communes.yaml" in error.value.message


def test_an_unknown_environment_is_refused():
    with pytest.raises(ConfigurationError) as error:
        load_catalog(ROOT / "catalog").environment("preprod")
    assert "demo, prod" in error.value.message
