"""Loading raw files into the candidate warehouse: layouts, codes, masked values."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from tasks.core.errors import InvalidData, InvalidFormat, LayoutChanged
from tasks.sources import load
from tasks.sources.formats import check_payload
from tasks.sources.registry import load_registry
from tasks.transform import models
from tests.conftest import FIXTURES, SAMPLES
from tests.raw_files import as_zip, raw_row

EXTRACT = (FIXTURES / "insee" / "base_cc_comparateur_extrait.csv").read_text(encoding="utf-8")


@pytest.fixture
def conn():
    connection = duckdb.connect()
    load.prepare(connection, load_registry())
    yield connection
    connection.close()


@pytest.fixture
def comparateur():
    return load_registry().sources["insee_comparateur"]


def test_masked_cells_become_null_with_their_reason(conn, comparateur, tmp_path):
    path = as_zip(tmp_path, EXTRACT)
    report = load.load_source(conn, comparateur, [(raw_row(path), path)])
    assert report.rows == 6 and not report.skipped
    staging = next(m for m in models.discover() if m.name == "stg_insee_comparateur")
    models.build(conn, [staging])
    rows = dict(
        conn.execute(
            "select code_indicateur, (valeur, raison_absence) from staging.stg_insee_comparateur "
            "where code_commune = '59522'"
        ).fetchall()
    )
    assert rows["TP6021"] == (None, "secret statistique")
    assert rows["P22_POP"] == (1936.0, None)
    assert rows["PIMP21"] == (71.0, None)  # decimal comma
    assert rows["P22_MEN"] == (pytest.approx(782.087763645717), None)  # weighted count kept


def test_an_unchanged_file_is_not_reloaded(conn, comparateur, tmp_path):
    path = as_zip(tmp_path, EXTRACT)
    load.load_source(conn, comparateur, [(raw_row(path), path)])
    conn.execute("delete from raw.insee_comparateur where CODGEO = '59522'")
    again = load.load_source(conn, comparateur, [(raw_row(path), path)])
    assert again.skipped
    assert conn.execute("select count(*) from raw.insee_comparateur").fetchone()[0] == 5


def test_a_missing_required_column_is_named_with_the_file(conn, comparateur, tmp_path):
    lines = [
        ";".join(f for i, f in enumerate(line.split(";")) if i != 17)
        for line in EXTRACT.splitlines()
    ]
    assert "TP6021" not in lines[0]
    path = as_zip(tmp_path, "\n".join(lines))
    with pytest.raises(LayoutChanged) as error:
        load.load_source(conn, comparateur, [(raw_row(path), path)])
    assert "TP6021" in error.value.message
    assert path.name in error.value.message
    assert "sources.yaml" in error.value.message
    assert not conn.execute(
        "select count(*) from duckdb_tables() where schema_name = 'raw' "
        "and table_name = 'insee_comparateur'"
    ).fetchone()[0]


def test_a_code_that_lost_its_leading_zero_is_refused(conn, comparateur, tmp_path):
    # A copy re-saved by a spreadsheet: the Ain commune 01001 becomes 1001.
    damaged = EXTRACT.replace("\n59005;", "\n1001;", 1)
    path = as_zip(tmp_path, damaged)
    with pytest.raises(InvalidData) as error:
        load.load_source(conn, comparateur, [(raw_row(path), path)])
    assert "« 1001 »" in error.value.message and "ligne 2" in error.value.message
    assert "zéro initial" in error.value.message


def test_html_instead_of_zip_is_refused(comparateur, tmp_path):
    page = tmp_path / "page.zip"
    page.write_text("<!DOCTYPE html><html><body>Maintenance en cours</body></html>")
    with pytest.raises(InvalidFormat) as error:
        check_payload(page, comparateur, "https://www.insee.fr/x.zip")
    assert "page HTML" in error.value.message


def test_truncated_zip_is_refused(comparateur, tmp_path):
    real = (
        SAMPLES / "www.insee.fr/fr/statistiques/fichier/2521169/base_cc_comparateur_csv.zip"
    ).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(real[: len(real) // 2])
    with pytest.raises(InvalidFormat) as error:
        check_payload(cut, comparateur, "https://www.insee.fr/x.zip")
    assert "tronquée ou corrompue" in error.value.message


def test_a_renamed_member_is_named(comparateur, tmp_path):
    path = as_zip(tmp_path, EXTRACT, member="base_cc_comparateur_2025.csv")
    with pytest.raises(InvalidFormat) as error:
        check_payload(path, comparateur, "https://www.insee.fr/x.zip")
    assert "base_cc_comparateur_2025.csv" in error.value.message


def test_upper_case_member_name_is_accepted(conn, comparateur, tmp_path):
    path = as_zip(tmp_path, EXTRACT, member="BASE_CC_COMPARATEUR.CSV")
    check_payload(path, comparateur, "https://www.insee.fr/x.zip")
    assert load.load_source(conn, comparateur, [(raw_row(path), path)]).rows == 6


def test_a_leftover_row_of_an_absorbed_commune_is_kept_as_not_filled(conn, comparateur, tmp_path):
    # INSEE files can keep a row for a commune merged away (59070 Bermeries), all empty.
    leftover = "59070" + ";" * 31
    path = as_zip(tmp_path, EXTRACT.rstrip("\n") + "\n" + leftover + "\n")
    load.load_source(conn, comparateur, [(raw_row(path), path)])
    staging = next(m for m in models.discover() if m.name == "stg_insee_comparateur")
    models.build(conn, [staging])
    reasons = conn.execute(
        "select distinct raison_absence, valeur from staging.stg_insee_comparateur "
        "where code_commune = '59070'"
    ).fetchall()
    assert reasons == [("non renseignée (cellule vide)", None)]


def test_models_are_ordered_by_dependency():
    order = [m.table for m in models.discover()]
    assert order.index("marts.communes") < order.index("marts.comparateur")
    assert order.index("staging.stg_insee_comparateur") < order.index("marts.comparateur")


def test_a_model_reading_an_unloaded_source_says_which_source(conn):
    mart = next(m for m in models.discover() if m.name == "communes")
    staging = [m for m in models.discover() if m.name == "stg_cog_communes"]
    with pytest.raises(InvalidData) as error:
        models.build(conn, [*staging, mart])
    assert "cog_communes" in error.value.message and "jamais chargée" in error.value.message


def test_a_registry_change_reloads_an_unchanged_file(conn, comparateur, tmp_path):
    path = as_zip(tmp_path, EXTRACT)
    load.load_source(conn, comparateur, [(raw_row(path), path)])
    relabelled = dataclasses.replace(
        comparateur,
        columns=tuple(
            dataclasses.replace(c, libelle="Population (libellé revu)")
            if c.source == "P{yy}_POP"
            else c
            for c in comparateur.columns
        ),
    )
    report = load.load_source(conn, relabelled, [(raw_row(path), path)])
    assert not report.skipped
    assert conn.execute(
        "select libelle from ref.variables where code_indicateur = 'P22_POP'"
    ).fetchone() == ("Population (libellé revu)",)


def test_a_row_with_extra_fields_is_refused_in_french(conn, comparateur, tmp_path):
    damaged = EXTRACT.rstrip("\n") + "\n59350;1;2;3" + ";9" * 40 + "\n"
    path = as_zip(tmp_path, damaged)
    with pytest.raises(InvalidFormat) as error:
        load.load_source(conn, comparateur, [(raw_row(path), path)])
    assert (
        "n'a pas pu être lu" in error.value.message and "insee_comparateur" in error.value.message
    )
    assert not conn.execute(
        "select count(*) from duckdb_tables() where schema_name = 'raw' "
        "and table_name = 'insee_comparateur'"
    ).fetchone()[0]
