"""What the documents do not say (tasks/subventions/config.py): catalog/subventions.yaml,
read as is, then copies of it with one mistake each."""

from __future__ import annotations

import shutil

import pytest
import yaml

from tasks.core.errors import ConfigurationError
from tasks.publication.catalog import catalog_dir
from tasks.subventions.config import DEFAULT_FIELDS, load_config


@pytest.fixture
def document() -> dict:
    return yaml.safe_load((catalog_dir() / "subventions.yaml").read_text(encoding="utf-8"))


def written(tmp_path, document: dict):
    """A catalogue folder holding `document` as its subventions.yaml, with the schemas."""
    folder = tmp_path / "catalog"
    shutil.copytree(catalog_dir() / "schemas", folder / "schemas")
    (folder / "subventions.yaml").write_text(
        yaml.safe_dump(document, allow_unicode=True), encoding="utf-8"
    )
    return folder


def refused(tmp_path, document: dict) -> str:
    with pytest.raises(ConfigurationError) as error:
        load_config(written(tmp_path, document))
    return error.value.message


def test_the_real_configuration_reads_with_the_commune_and_the_schema(subsidies_config, document):
    config = subsidies_config
    assert (config.schema_name, config.schema_version) == ("scdl/subventions", "2.1.1")
    assert config.schema_path.is_file()
    assert config.api_rate == document["recherche_entreprises"]["requetes_par_seconde"]
    sailly = config.commune("59522")
    entry = document["communes"]["59522"]
    assert (sailly.nom_attribuant, sailly.siren, sailly.siret) == (
        entry["nomAttribuant"],
        entry["siren"],
        None,
    )
    assert sailly.defauts == {name: str(document["defauts"][name]) for name in DEFAULT_FIELDS}


def test_a_default_is_filled_with_the_year_and_the_date(subsidies_config):
    sailly = subsidies_config.commune("59522")
    assert sailly.default("datesPeriodeVersement", 2019, "2019-03-12") == "2019-01-01/2019-12-31"
    assert sailly.default("objet", 2019, "") == "Subvention de fonctionnement 2019"


def test_an_unknown_commune_names_the_communes_configured(subsidies_config):
    with pytest.raises(ConfigurationError) as error:
        subsidies_config.commune("59350")
    assert "la commune 59350 n'a pas d'entrée pour ses subventions" in error.value.message
    assert "choisissez parmi : 59522" in error.value.message


def test_a_commune_replaces_the_defaults_it_names(tmp_path, document):
    document["communes"]["59522"]["defauts"] = {"conditionsVersement": "échelonné"}
    sailly = load_config(written(tmp_path, document)).commune("59522")
    assert sailly.defauts["conditionsVersement"] == "échelonné"
    assert sailly.defauts["nature"] == document["defauts"]["nature"]


def test_a_wrong_siren_an_unknown_field_and_a_foreign_siret_are_all_named(tmp_path, document):
    document["communes"]["59522"].update(
        siren="21590522", idAttribuant="21590600000019", defauts={"montant": "0"}
    )
    message = refused(tmp_path, document)
    assert message.startswith(
        "Configuration invalide : commune 59522 : champ(s) par défaut inconnu(s) : montant ; "
        "SIREN '21590522' : 9 chiffres attendus ; idAttribuant '21590600000019' : 14 chiffres "
        "commençant par le SIREN attendus"
    )


def test_a_missing_block_is_named(tmp_path, document):
    del document["defauts"]
    message = refused(tmp_path, document)
    assert "configuration des subventions illisible ou incomplète (KeyError : 'defauts')" in (
        message
    )


def test_a_missing_schema_copy_is_refused(tmp_path, document):
    document["schema"]["fichier"] = "schemas/absent.json"
    assert "schéma introuvable" in refused(tmp_path, document)
