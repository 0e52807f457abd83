"""The source registry: templates, millésime detection, and the shape of every entry."""

from __future__ import annotations

import dataclasses

import pytest

from tasks.core.errors import ConfigurationError
from tasks.core.sql import SQL_DIR
from tasks.sources.registry import load_registry, resolve_template


def test_year_templates_follow_the_millesime():
    assert resolve_template("P{yy}_POP", 2022) == "P22_POP"
    assert resolve_template("NAIS{yy-6}{yy-1}", 2022) == "NAIS1621"
    assert resolve_template("ETTEFP10{yy+2}", 2023) == "ETTEFP1025"
    assert resolve_template("CODGEO", 2022) == "CODGEO"


def test_comparateur_columns_match_the_real_2022_header():
    real_header = (
        (SQL_DIR.parent / "samples/reference/base_cc_comparateur_RP2022_MEL95.csv")
        .read_text()
        .splitlines()[0]
    )
    source = load_registry().sources["insee_comparateur"]
    assert source.expected_columns(2022) == real_header.split(";")


def test_millesime_is_read_from_the_header_not_fooled_by_older_columns():
    source = load_registry().sources["insee_comparateur"]
    header_2023 = source.expected_columns(2023)
    assert "P17_POP" in header_2023  # the six-years-before column also matches P{yy}_POP
    assert source.detect_millesime(header_2023) == 2023
    assert source.detect_millesime(["CODGEO", "LIBGEO"]) is None


def test_unknown_source_is_refused_in_french_with_the_choices():
    with pytest.raises(ConfigurationError) as error:
        load_registry().select(["insee_comparateur", "insee_inconnue"])
    assert "insee_inconnue" in error.value.message
    assert "cog_communes" in error.value.message


@pytest.mark.parametrize("source_id", list(load_registry().sources))
def test_every_source_is_complete_and_has_a_staging_model(source_id):
    source = load_registry().sources[source_id]
    addresses = [source.url] if source.url else list(source.urls_by_millesime.values())
    assert source.producer and source.licence and addresses
    assert all(address.startswith("https://") for address in addresses)
    assert source.columns and all(column.libelle for column in source.columns)
    assert source.key in {column.source for column in source.columns}
    readers = [
        path.name
        for path in (SQL_DIR / "staging").glob("*.sql")
        if f"raw.{source_id}" in path.read_text()
    ]
    assert readers, f"aucun modèle de warehouse/staging/ ne lit raw.{source_id}"


def test_a_broken_registry_names_the_file(tmp_path):
    broken = tmp_path / "sources.yaml"
    broken.write_text("territoire: [oops\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as error:
        load_registry(broken)
    assert str(broken) in error.value.message


def test_a_source_named_twice_is_selected_once_after_the_national_reference():
    selected = load_registry().select(["insee_comparateur", "cog_epci", "insee_comparateur"])
    assert [source.id for source in selected] == [
        "cog_communes",
        "cog_epci",
        "cog_mouvements",
        "insee_comparateur",
    ]


def test_the_fingerprint_follows_the_registry_entry():
    source = load_registry().sources["insee_comparateur"]
    renamed = dataclasses.replace(
        source,
        columns=(dataclasses.replace(source.columns[0], libelle="Code"), *source.columns[1:]),
    )
    assert source.fingerprint() == load_registry().sources["insee_comparateur"].fingerprint()
    assert renamed.fingerprint() != source.fingerprint()
