"""From the lines read in the documents to the rows of one SCDL subventions file
(tasks/subventions/scdl.py), on the sample documents of Sailly-lez-Lannoy (fictitious)."""

from __future__ import annotations

import csv
import dataclasses
from decimal import Decimal

import pytest

from tasks.quality.schema.validate import validate
from tasks.subventions import scdl
from tasks.subventions.model import Place, TotalCheck
from tests.conftest import FIXTURES
from tests.unit.conftest import SIRET_SAILLY, sample_beneficiaries, sample_readings, subsidy_rows


@pytest.fixture(scope="module")
def reading_2016():
    [reading] = sample_readings("2016.docx")
    return reading


@pytest.fixture
def commune(subsidies_config):
    return subsidies_config.commune("59522")


def test_the_columns_are_the_fields_of_the_official_schema_in_order(scdl_columns):
    with (FIXTURES / "scdl-subventions" / "exemple_valide.csv").open(encoding="utf-8") as f:
        official = next(csv.reader(f))
    assert scdl_columns == official


def test_each_line_becomes_a_row_with_its_decision_and_the_defaults(
    subsidies_config, scdl_columns, reading_2016, commune
):
    rows = subsidy_rows(subsidies_config, scdl_columns, [reading_2016])
    assert len(rows) == len(reading_2016.lines)
    beneficiaries = sample_beneficiaries()
    by_place = {row.place: row for row in rows}
    for line in reading_2016.lines:
        row = by_place[line.place]
        who = beneficiaries[line.beneficiaire]
        decision = line.decision
        assert row.annee == decision.annee and row.graphie == line.beneficiaire
        assert row.values == {
            "nomAttribuant": commune.nom_attribuant,
            "idAttribuant": SIRET_SAILLY,
            "dateConvention": decision.date.isoformat(),
            "referenceDecision": decision.reference,
            "nomBeneficiaire": who.nom,
            "idBeneficiaire": who.siret or "",
            "rnaBeneficiaire": who.rna or "",
            "objet": line.objet,
            "montant": f"{line.montant:.2f}",
            "nature": commune.defauts["nature"],
            "conditionsVersement": commune.defauts["conditionsVersement"],
            "datesPeriodeVersement": f"{decision.annee}-01-01/{decision.annee}-12-31",
            "idRAE": "",
            "notificationUE": commune.defauts["notificationUE"],
            "pourcentageSubvention": commune.defauts["pourcentageSubvention"],
            "dispositifAide": "",
        }


def test_rows_are_sorted_by_year_date_and_beneficiary(subsidies_config, scdl_columns):
    readings = sample_readings("2019-2020.docx", "2016.docx")
    rows = subsidy_rows(subsidies_config, scdl_columns, readings)

    def key(row):
        values = row.values
        return (row.annee, values["dateConvention"], values["nomBeneficiaire"].casefold())

    assert [key(r) for r in rows] == sorted(key(r) for r in rows)
    assert {r.annee for r in rows} == {2016, 2019, 2020}


def test_a_line_without_objet_takes_the_default_of_its_year(
    subsidies_config, scdl_columns, reading_2016
):
    reading = dataclasses.replace(
        reading_2016, lines=[dataclasses.replace(reading_2016.lines[0], objet=None)]
    )
    [row] = subsidy_rows(subsidies_config, scdl_columns, [reading])
    assert row.values["objet"] == "Subvention de fonctionnement 2016"


def test_a_default_needing_an_unknown_year_is_left_empty(subsidies_config, scdl_columns):
    [reading] = sample_readings("complements_subventions.csv")  # no year nor date
    rows = subsidy_rows(subsidies_config, scdl_columns, [reading])
    assert rows and all(r.annee is None for r in rows)
    for row in rows:
        assert row.values["datesPeriodeVersement"] == "" and row.values["dateConvention"] == ""
        assert row.values["nature"] == "aide en numéraire"  # needs no year


def test_the_file_is_named_after_the_latest_decision(
    subsidies_config, scdl_columns, reading_2016, commune
):
    rows = subsidy_rows(subsidies_config, scdl_columns, [reading_2016])
    latest = max(line.decision.date for line in reading_2016.lines)
    assert scdl.file_name(commune, rows) == (
        f"{latest:%Y%m%d}_{commune.siren}_commune-de-sailly-lez-lannoy.csv"
    )


def test_the_written_file_passes_the_official_schema(
    subsidies_config, scdl_columns, reading_2016, tmp_path
):
    rows = subsidy_rows(subsidies_config, scdl_columns, [reading_2016])
    path = tmp_path / "scdl" / "subventions.csv"
    scdl.write(path, rows, scdl_columns)
    with path.open(encoding="utf-8", newline="") as f:
        written = list(csv.DictReader(f))
    assert written == [row.values for row in rows]
    result = validate(path, subsidies_config.schema_path)
    assert result.publiable, result.lines()


def test_yearly_totals_equal_the_total_the_document_prints(
    subsidies_config, scdl_columns, reading_2016
):
    rows = subsidy_rows(subsidies_config, scdl_columns, [reading_2016])
    assert scdl.yearly_totals(rows) == reading_2016.totals


def test_a_printed_total_that_disagrees_is_an_issue_in_french(reading_2016):
    wrong = TotalCheck(
        Place("2017.odt", 1, 15), Decimal("5000.00"), Decimal("4950.00"), "tableau 1"
    )
    reading = dataclasses.replace(reading_2016, checks=[*reading_2016.checks, wrong])
    checks, issues = scdl.check_totals([reading])
    assert checks == reading.checks
    [issue] = issues
    assert str(issue).startswith(
        "le total imprimé (5000.00 €) n'est pas la somme des lignes lues (4950.00 €, tableau 1) "
        "(2017.odt, tableau 1, ligne 15) : une ligne a été mal lue"
    )
    assert scdl.check_totals([reading_2016])[1] == []
