"""A commune's validated SCDL rows into an in-memory warehouse (tasks/subventions/loading.py):
raw → staging → mart, on the rows built from the sample documents (fictitious)."""

from __future__ import annotations

import pytest

from tasks.core.errors import ConfigurationError, InvalidData
from tasks.subventions import loading, scdl
from tasks.transform import models
from tests.unit.conftest import sample_readings, scalar, subsidy_rows

SAILLY = "59522"


@pytest.fixture(scope="module")
def rows(subsidies_config, scdl_columns):
    return subsidy_rows(subsidies_config, scdl_columns, sample_readings("2016.docx", "2021.odt"))


def years_loaded(conn) -> dict[int, int]:
    query = "select millesime, lignes from meta.chargements where source_id = 'subventions'"
    return dict(conn.execute(query).fetchall())


def test_the_rows_are_loaded_and_counted_per_year(meta_conn, rows, scdl_columns):
    assert loading.replace_commune(meta_conn, SAILLY, rows, scdl_columns) == len(rows)
    per_year = {}
    for row in rows:
        per_year[row.annee] = per_year.get(row.annee, 0) + 1
    assert years_loaded(meta_conn) == per_year
    first = rows[0]
    loaded = meta_conn.execute(
        'select "nomBeneficiaire", montant, graphie, _fichier, _ligne from raw.subventions '
        "order by _ligne limit 1"
    ).fetchall()
    assert loaded == [
        (
            first.values["nomBeneficiaire"],
            first.values["montant"],
            first.graphie,
            str(first.place),
            2,
        )
    ]


def test_a_reload_replaces_the_commune_and_leaves_the_others(meta_conn, rows, scdl_columns):
    lille = rows[:2]  # invented: the same subsidies given to Lille
    loading.replace_commune(meta_conn, "59350", lille, scdl_columns)
    loading.replace_commune(meta_conn, SAILLY, rows, scdl_columns)
    only_2021 = [r for r in rows if r.annee == 2021]
    loading.replace_commune(meta_conn, SAILLY, only_2021, scdl_columns)
    count = "select count(*) from raw.subventions where code_commune = ?"
    assert scalar(meta_conn, count, [SAILLY]) == len(only_2021)
    assert scalar(meta_conn, count, ["59350"]) == len(lille)


def test_a_year_missing_from_the_documents_is_refused_before_loading(meta_conn, rows, scdl_columns):
    loading.replace_commune(meta_conn, SAILLY, rows, scdl_columns)
    loading.refuse_missing_years(meta_conn, SAILLY, {2016, 2021})
    with pytest.raises(InvalidData) as error:
        loading.refuse_missing_years(meta_conn, SAILLY, {2021})
    assert (
        "année(s) déjà publiée(s) pour la commune 59522 absente(s) des documents lus : 2016"
        in error.value.message
    )
    assert "--retirer-annees" in error.value.message


def test_only_the_models_reading_the_subsidies_are_rebuilt():
    downstream = loading.downstream_models()
    every = models.discover()
    assert [m.table for m in downstream] == [
        m.table for m in every if "subventions" in models.raw_sources(m, every)
    ]
    assert {"staging.stg_subventions", "marts.subventions"} <= {m.table for m in downstream}


def test_building_without_the_commune_geography_says_to_refresh_first(
    meta_conn, rows, scdl_columns
):
    loading.replace_commune(meta_conn, SAILLY, rows, scdl_columns)
    with pytest.raises(ConfigurationError) as error:
        loading.build(meta_conn)
    assert "l'entrepôt n'a pas encore intermediate.int_communes" in error.value.message


def test_the_mart_names_the_file_as_the_build_does(
    communes_mart, rows, scdl_columns, subsidies_config
):
    loading.replace_commune(communes_mart, SAILLY, rows, scdl_columns)
    counts = loading.build(communes_mart)
    assert counts["marts.subventions"] == len(rows)
    parts = communes_mart.execute(
        "select distinct date_donnees, siren_attribuant, nom_fichier, is_mel from marts.subventions"
    ).fetchall()
    [(date, siren, name, is_mel)] = parts
    assert is_mel  # Sailly-lez-Lannoy is in the MEL (tiny référentiel)
    commune = subsidies_config.commune(SAILLY)
    assert f"{date}_{siren}_{name}.csv" == scdl.file_name(commune, rows)
