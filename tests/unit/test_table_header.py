"""Which row of a table is its header and what each column holds
(tasks/subventions/table_header.py), on the tables of the sample documents
(samples/subventions/59522/documents/, fictitious) and small invented tables."""

from __future__ import annotations

import pytest

from tasks.core.settings import PROJECT_ROOT
from tasks.subventions.documents import Table, read_blocks
from tasks.subventions.table_header import Amount, find_header, unclear_amounts

DOCUMENTS = PROJECT_ROOT / "samples" / "subventions" / "59522" / "documents"


def tables_of(name: str) -> list[Table]:
    return [b for b in read_blocks(DOCUMENTS / name) if isinstance(b, Table)]


def test_a_title_row_above_the_header_is_passed_over():
    [table] = tables_of("2016.docx")
    header = find_header(table)
    assert table.rows[header.start] == ["Association", "Objet", "Montant"]
    assert (header.start, header.end, header.beneficiaire, header.objet) == (1, 2, 0, 1)
    assert header.amounts == [Amount(2, None, None, "Montant")]


def test_a_header_on_two_rows_gives_one_amount_per_kind_of_grant():
    table = tables_of("2017.odt")[0]
    assert table.rows[1][2] == "Subvention 2017"
    header = find_header(table)
    assert (header.start, header.end) == (1, 3)
    assert [(a.column, a.label, a.annee) for a in header.amounts] == [
        (2, "Fonctionnement", 2017),
        (3, "Exceptionnelle", 2017),
    ]
    assert unclear_amounts(header.amounts) == []  # two kinds: they add up


def test_the_amount_column_may_come_before_the_objet():
    table = tables_of("2019-2020.docx")[1]
    header = find_header(table)
    assert table.rows[0] == ["Nom de l'association", "Montant (€)", "Objet"]
    assert (header.beneficiaire, header.objet) == (0, 2)
    assert [a.column for a in header.amounts] == [1]


def test_a_spreadsheet_with_blank_and_title_rows_finds_its_header():
    table = tables_of("2022.xlsx")[0]
    header = find_header(table)
    assert table.rows[header.start] == ["Association", "Objet", "Montant"]


# Invented tables, one quirk each ---------------------------------------------------------
def header_of(*rows: list[str]):
    return find_header(Table([list(row) for row in rows]))


def test_a_table_without_beneficiary_or_amount_has_no_header():
    assert header_of(["Objet", "Montant"], ["Sorties", "700"]) is None
    assert header_of(["Association", "Objet"], ["GRS", "Gymnastique"]) is None


def test_an_amount_asked_for_is_not_an_amount_granted():
    header = header_of(
        ["Association", "Montant demandé", "Montant attribué"], ["GRS", "1 200", "900"]
    )
    assert [a.column for a in header.amounts] == [2]


def test_a_total_column_beside_its_parts_is_left_out():
    header = header_of(
        ["Association", "Fonctionnement", "Exceptionnelle", "Montant total"],
        ["GRS", "800", "100", "900"],
    )
    assert [a.column for a in header.amounts] == [1, 2]
    alone = header_of(["Association", "Montant total"], ["GRS", "900"])
    assert [a.column for a in alone.amounts] == [1]  # alone, the total is the amount


def test_the_name_of_a_project_is_an_objet_not_a_beneficiary():
    header = header_of(["Association", "Nom du projet", "Montant"], ["GRS", "Gala annuel", "900"])
    assert (header.beneficiaire, header.objet) == (0, 1)


def test_a_column_of_currency_signs_is_no_amount():
    table = Table([["Association", "Montant", "Montant"], ["GRS", "900", "€"], ["APE", "380", "€"]])
    assert [a.column for a in find_header(table).amounts] == [1]


def test_only_the_date_of_the_decision_is_kept_as_a_date_column():
    header = header_of(
        ["Association", "Date de versement", "Date de la délibération", "Montant"],
        ["GRS", "2019-06-01", "2019-03-12", "900"],
    )
    assert header.date == 2
    assert header.other_dates == ("Date de versement",)


@pytest.mark.parametrize(
    ("texts", "unclear"),
    [
        (["Montant", "Montant"], ["Montant"]),
        (["Subvention 2019", "Subvention 2020"], []),
        (["Fonctionnement", "Investissement"], []),
        (["Montant"], []),
    ],
)
def test_amount_columns_nothing_tells_apart_are_flagged(texts, unclear):
    amounts = [
        Amount(i, None, int(t[-4:]) if t[-4:].isdigit() else None, t) for i, t in enumerate(texts)
    ]
    assert unclear_amounts(amounts) == unclear
