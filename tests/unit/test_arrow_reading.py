"""CSV files read through Arrow (tasks/sources/reading.py): the quirks of the real files
and the failures a data officer must understand, in French, with nothing loaded."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from tasks.core.errors import InvalidData, InvalidFormat, LayoutChanged
from tasks.sources import load
from tasks.sources.registry import load_registry
from tests.raw_files import as_zip, raw_row
from tests.unit.conftest import COMPARATEUR_EXTRACT

EXTRACT = COMPARATEUR_EXTRACT.read_text(encoding="utf-8")
HEADER, *ROWS = EXTRACT.splitlines()


@pytest.fixture
def conn():
    connection = duckdb.connect()
    load.prepare(connection, load_registry())
    yield connection
    connection.close()


@pytest.fixture
def comparateur():
    return load_registry().sources["insee_comparateur"]


def loaded(conn, sql: str = "select count(*) from raw.insee_comparateur") -> list[tuple]:
    return conn.execute(sql).fetchall()


def test_a_renamed_column_of_a_crlf_upper_case_member_is_named_in_french(
    conn, comparateur, tmp_path
):
    renamed = "\r\n".join([HEADER.replace("P22_POP;", "P22_POPULATION;", 1), *ROWS]) + "\r\n"
    path = as_zip(tmp_path, renamed, member="BASE_CC_COMPARATEUR.CSV")
    with pytest.raises(LayoutChanged) as error:
        load.load_source(conn, comparateur, [(raw_row(path), path)])
    assert "colonne(s) attendue(s) absente(s) : P22_POP " in error.value.message
    assert f"(millésime 2022, {len(HEADER.split(';'))} colonnes lues)" in error.value.message
    assert path.name in error.value.message and "sources.yaml" in error.value.message
    assert loaded(conn, "select count(*) from meta.chargements") == [(0,)]


def test_crlf_an_upper_case_member_and_decimal_commas_are_read_as_text(conn, comparateur, tmp_path):
    path = as_zip(tmp_path, "\r\n".join(EXTRACT.splitlines()) + "\r\n", "BASE_CC_COMPARATEUR.CSV")
    load.load_source(conn, comparateur, [(raw_row(path), path)])
    assert loaded(
        conn, "select PIMP21, TP6021, _ligne from raw.insee_comparateur where CODGEO = '59005'"
    ) == [("67,0", "s", 2)]


def test_a_row_with_missing_fields_is_refused_and_nothing_is_loaded(conn, comparateur, tmp_path):
    path = as_zip(tmp_path, EXTRACT.rstrip("\n") + "\n59350;1;2\n")
    with pytest.raises(InvalidFormat) as error:
        load.load_source(conn, comparateur, [(raw_row(path), path)])
    columns = len(HEADER.split(";"))
    assert (
        f"le fichier n'a pas pu être lu : une ligne a 3 champ(s) au lieu des {columns} de "
        "l'en-tête : « 59350;1;2 »"
    ) in error.value.message
    assert "rien n'a été chargé" in error.value.message
    assert not loaded(
        conn, "select * from duckdb_tables() where table_name in ('insee_comparateur', '_entrant')"
    )


def test_a_malformed_first_row_is_refused_in_french(conn, comparateur, tmp_path):
    # Arrow parses the first block as the file is opened: the same French error.
    path = as_zip(tmp_path, "\n".join([HEADER, ROWS[0] + ";9;9", *ROWS[1:]]) + "\n")
    with pytest.raises(InvalidFormat) as error:
        load.load_source(conn, comparateur, [(raw_row(path), path)])
    columns = len(HEADER.split(";"))
    assert f"une ligne a {columns + 2} champ(s) au lieu des {columns}" in error.value.message
    assert "insee_comparateur" in error.value.message


def test_rows_are_numbered_as_in_the_file_across_read_blocks(conn, comparateur, tmp_path):
    # ~3 MB: several Arrow blocks. A code that lost its zero is named with its line.
    rows = [f"{10000 + i:05d}" + ROWS[0][5:] for i in range(12000)]
    rows[9999] = "1001" + ROWS[0][5:]
    path = as_zip(tmp_path, "\n".join([HEADER, *rows]) + "\n")
    assert path.stat().st_size and len("\n".join(rows)) > 2 * (1 << 20)
    with pytest.raises(InvalidData) as error:
        load.load_source(conn, comparateur, [(raw_row(path), path)])
    assert "ligne 10001 : « 1001 »" in error.value.message


def test_a_quoted_value_keeps_its_separator_and_its_line_break(conn, comparateur, tmp_path):
    fields = ROWS[0].split(";")
    fields[3] = '"5;55\r\nkm"'
    path = as_zip(tmp_path, "\n".join([HEADER, ";".join(fields), *ROWS[1:]]) + "\n")
    load.load_source(conn, comparateur, [(raw_row(path), path)])
    assert loaded(
        conn, "select SUPERF, P22_POP from raw.insee_comparateur where CODGEO = '59005'"
    ) == [("5;55\r\nkm", "3549")]
    assert loaded(conn)[0][0] == len(ROWS)


def test_a_file_in_another_encoding_is_read_in_that_encoding(conn, comparateur, tmp_path):
    latin = dataclasses.replace(comparateur, encoding="latin-1")
    fields = ROWS[0].split(";")
    fields[3] = "5,55 km² à vérifier"
    text = "\r\n".join([HEADER, ";".join(fields), *ROWS[1:]]) + "\r\n"
    path = as_zip(tmp_path, text.encode("latin-1"))
    load.load_source(conn, latin, [(raw_row(path), path)])
    assert loaded(conn, "select SUPERF from raw.insee_comparateur where CODGEO = '59005'") == [
        ("5,55 km² à vérifier",)
    ]


def test_bytes_that_are_not_utf8_are_refused_in_french(conn, comparateur, tmp_path):
    fields = ROWS[0].split(";")
    fields[3] = "5,55 km²"
    text = "\n".join([HEADER, ";".join(fields), *ROWS[1:]]) + "\n"
    path = as_zip(tmp_path, text.encode("latin-1"))  # the registry says utf-8
    with pytest.raises(InvalidFormat) as error:
        load.load_source(conn, comparateur, [(raw_row(path), path)])
    assert "des octets ne sont pas du texte utf-8 (encodage déclaré)" in error.value.message


def test_a_refused_file_leaves_the_rows_already_loaded(conn, comparateur, tmp_path):
    good = as_zip(tmp_path, EXTRACT)
    load.load_source(conn, comparateur, [(raw_row(good), good)])
    before = loaded(conn, "select * from raw.insee_comparateur order by CODGEO")
    (tmp_path / "bad").mkdir()
    bad = as_zip(tmp_path / "bad", EXTRACT.rstrip("\n") + "\n59350;1;2\n")
    with pytest.raises(InvalidFormat):
        load.load_source(conn, comparateur, [(raw_row(bad), bad)])
    assert loaded(conn, "select * from raw.insee_comparateur order by CODGEO") == before
    assert loaded(conn, "select empreinte from meta.chargements") == [
        (load._fingerprint(comparateur, [raw_row(good)]),)
    ]
