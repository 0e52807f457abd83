"""The French problems of the SCDL validation (tasks/quality/schema/problems.py), on cells
of the official SCDL examples (tests/fixtures/scdl-subventions/) and the real schema."""

from __future__ import annotations

import csv
import json

import pytest

from tasks.publication.catalog import catalog_dir
from tasks.quality.schema import problems
from tests.conftest import FIXTURES

EXAMPLES = FIXTURES / "scdl-subventions"


@pytest.fixture(scope="module")
def fields() -> dict[str, dict]:
    schema = catalog_dir() / "schemas" / "scdl-subventions-2.1.1.json"
    return {f["name"]: f for f in json.loads(schema.read_text(encoding="utf-8"))["fields"]}


@pytest.fixture(scope="module")
def invalid_cells() -> list[dict]:
    """The rows of the official example with cell errors, as a spreadsheet numbers them."""
    with (EXAMPLES / "exemple_invalide_erreurs_cellules.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def cell(rows: list[dict], ligne: int, column: str) -> str:
    return rows[ligne - 2][column]


# SIRET --------------------------------------------------------------------------------
def test_a_real_siret_passes_its_luhn_key():
    with (EXAMPLES / "exemple_valide.csv").open(encoding="utf-8") as f:
        attribuant = next(csv.DictReader(f))["idAttribuant"]
    assert problems.is_siret(attribuant)
    # one digit miscopied breaks the key
    last = str((int(attribuant[-1]) + 1) % 10)
    assert not problems.is_siret(attribuant[:-1] + last)


@pytest.mark.parametrize(
    "value", ["215905225", "2106000450039", "2106 0004 5003 92", "2106000450039A"]
)
def test_anything_but_fourteen_digits_is_not_a_siret(value):
    assert not problems.is_siret(value)


def test_a_siren_typed_for_a_siret_is_told_so(invalid_cells):
    value = cell(invalid_cells, 7, "idAttribuant")
    problem = problems.siret(7, "idAttribuant", value)
    assert problem.correction.startswith(
        f"{value} a 9 chiffres : c'est un SIREN, ajoutez les 5 chiffres de l'établissement"
    )
    assert problem.correction.endswith(problems.ANNUAIRE)
    assert str(problem) == (
        f"La valeur n'est pas conforme au format Siret : colonne idAttribuant, ligne 7 — "
        f"{problem.correction}"
    )


def test_a_wrong_key_is_told_so(invalid_cells):
    value = cell(invalid_cells, 2, "idAttribuant")
    assert not problems.is_siret(value)
    hint = problems.siret(2, "idAttribuant", value).correction
    assert hint.startswith(f"la clé de contrôle de {value} est fausse")


def test_a_siret_damaged_by_a_spreadsheet_is_cleaned_in_the_advice():
    problem = problems.siret(3, "idBeneficiaire", "52 499 120 500 013.0")
    assert problem.correction.startswith(
        "retirez espaces et « .0 » ajoutés par le tableur (52499120500013) ; "
        "le numéro est bon une fois nettoyé"
    )
    assert "un Siret compte 14 chiffres, 5249912050001 en a 13" in (
        problems.siret(3, "idBeneficiaire", "5249912050001").correction
    )


# Suggestions ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("100000,1", "100000.1"),
        ("1 500,50 €", "1500.50"),
        ("12\u202f000 euros", "12000"),
        ("1.500,50", "1500.50"),
        ("4500", "4500"),
        ("mille", None),
    ],
)
def test_a_number_typed_the_french_way_is_suggested_with_a_point(typed, suggested):
    assert problems.suggest_number(typed) == suggested


def test_a_number_with_an_english_thousands_comma_is_not_divided_by_a_thousand():
    assert problems.suggest_number("1,500.50") == "1500.50"
    assert problems.suggest_number("1.500,50") == "1500.50"


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("05/12/2016", "2016-12-05"),
        ("5.12.2016", "2016-12-05"),
        ("2017-30-05", "2017-05-30"),
        ("31/02/2017", None),
        ("décembre 2016", None),
    ],
)
def test_a_date_is_suggested_in_iso_form_only_when_it_exists(typed, suggested):
    assert problems.suggest_date(typed) == suggested


# Cells ---------------------------------------------------------------------------------
def test_a_decimal_comma_is_corrected_with_the_number_to_write(invalid_cells, fields):
    value = cell(invalid_cells, 6, "montant")
    problem = problems.type_error(6, "montant", fields["montant"], value)
    assert problem.titre == "Format de nombre incorrect"
    assert problem.correction == (
        f"le séparateur décimal à utiliser est le point (écrire {value.replace(',', '.')}, "
        f"pas {value})"
    )
    assert problem.niveau == problems.ERREUR


def test_a_french_date_is_corrected_to_iso(invalid_cells, fields):
    value = cell(invalid_cells, 5, "dateConvention")
    problem = problems.type_error(5, "dateConvention", fields["dateConvention"], value)
    day, month, year = value.split("/")
    assert (problem.titre, problem.correction) == (
        "Format de date incorrect",
        f"la date s'écrit AAAA-MM-JJ (écrire {year}-{month}-{day}, pas {value})",
    )


def test_an_impossible_iso_date_is_told_as_such_with_a_guess():
    field = {"type": "date"}
    problem = problems.type_error(4, "dateConvention", field, "2017-30-05")
    assert problem.titre == "Date inexistante"
    assert problem.correction == (
        "ce jour n'existe pas : corrigez la date (écrire 2017-05-30 ?, pas 2017-30-05)"
    )


def test_an_english_boolean_is_corrected_with_the_schema_values(invalid_cells, fields):
    field = fields["notificationUE"]
    yes = problems.type_error(8, "notificationUE", field, cell(invalid_cells, 8, "notificationUE"))
    assert yes.correction == "seules les valeurs oui ou non sont autorisées (écrire oui, pas yes)"
    no = problems.type_error(6, "notificationUE", field, cell(invalid_cells, 6, "notificationUE"))
    assert no.correction.endswith("(écrire non, pas no)")


def test_a_percentage_typed_as_a_whole_number_is_corrected_to_a_decimal(invalid_cells, fields):
    field = fields["pourcentageSubvention"]
    low, high = field["constraints"]["minimum"], field["constraints"]["maximum"]
    for ligne, written in ((2, "1"), (3, "0.8")):
        value = cell(invalid_cells, ligne, "pourcentageSubvention")
        problem = problems.constraint_error(ligne, "pourcentageSubvention", field, value, "maximum")
        assert problem.titre == "Valeur hors limites"
        assert problem.correction == (
            f"la valeur doit être comprise entre {low} et {high} : un pourcentage s'écrit en "
            f"décimal (écrire {written}, pas {value})"
        )


def test_an_upper_bound_alone_reads_as_a_sentence():
    # invented field: only a maximum
    field = {"type": "number", "constraints": {"maximum": 1}}
    problem = problems.constraint_error(2, "taux", field, "2", "maximum")
    assert problem.correction.startswith("la valeur doit être au plus 1")


def test_a_lower_bound_alone_reads_as_a_sentence():
    field = {"type": "number", "constraints": {"minimum": 0}}  # invented field
    assert problems.constraint_error(2, "montant", field, "-5", "minimum").correction == (
        "la valeur doit être au moins 0"
    )


def test_an_enum_value_with_other_separators_is_matched_to_the_allowed_one(fields):
    field = fields["nature"]
    problem = problems.constraint_error(
        2, "nature", field, "Aide en numéraire / aide en nature", "enum"
    )
    allowed = ", ".join(f"« {v} »" for v in field["constraints"]["enum"])
    assert (
        problem.correction
        == f"écrire « aide en numéraire;aide en nature » ; valeurs autorisées : {allowed}"
    )
    unknown = problems.constraint_error(2, "nature", field, "prêt", "enum")
    assert unknown.correction == f"valeurs autorisées : {allowed}"


def test_a_pattern_is_matched_once_spaces_are_removed(fields):
    field = fields["rnaBeneficiaire"]
    problem = problems.constraint_error(2, "rnaBeneficiaire", field, "w 333 216 789", "pattern")
    pattern = field["constraints"]["pattern"]
    # no guess: the upper-cased value still has its spaces
    assert problem.correction == (
        f"la valeur doit ressembler à « {field['example']} » (motif {pattern})"
    )
    fixed = problems.constraint_error(2, "rnaBeneficiaire", field, "W 333216789", "pattern")
    assert fixed.correction.endswith(" : écrire W333216789")


def test_a_period_written_with_words_between_dates_is_suggested_with_a_slash(fields):
    field = fields["datesPeriodeVersement"]
    typed = "2016-12-05 au 2017-12-05"
    problem = problems.constraint_error(2, "datesPeriodeVersement", field, typed, "pattern")
    assert problem.correction.endswith(" : écrire 2016-12-05/2017-12-05")


def test_a_required_cell_names_its_title_and_example(fields):
    field = fields["montant"]
    problem = problems.constraint_error(9, "montant", field, "", "required")
    assert (problem.titre, problem.correction) == (
        "Cellule vide",
        f"renseignez cette cellule obligatoire : {field['title']} (ex. {field['example']})",
    )


def test_a_text_too_long_gives_its_length(fields):
    text = "x" * 300
    problem = problems.constraint_error(2, "objet", fields["objet"], text, "maxLength")
    assert (problem.titre, problem.correction) == (
        "Texte trop long",
        "au plus 256 caractères (la cellule en compte 300)",
    )


# Rows and periods ----------------------------------------------------------------------
def test_blank_and_duplicate_rows():
    assert str(problems.blank_row(12)) == "Ligne vide : ligne 12 — supprimez cette ligne"
    duplicate = problems.duplicate_row(4, 3)
    assert duplicate.niveau == problems.AVERTISSEMENT
    assert duplicate.detail == "identique à la ligne 3"


def test_one_of_two_columns_must_be_filled(fields):
    problem = problems.one_of_required(5, "idBeneficiaire", "rnaBeneficiaire", fields)
    assert problem.titre == (
        "Au moins l'une des colonnes idBeneficiaire ou rnaBeneficiaire doit comporter une valeur"
    )
    assert problem.correction == (
        f"renseignez idBeneficiaire ({fields['idBeneficiaire']['title']}) ou "
        f"rnaBeneficiaire ({fields['rnaBeneficiaire']['title']})"
    )


def test_a_date_without_leading_zeros_is_given_in_full():
    problem = problems.loose_date(3, "dateConvention", "2017-6-7")
    assert problem.niveau == problems.DATE
    assert problem.correction.endswith("(écrire 2017-06-07, pas 2017-6-7)")


def test_periods_of_the_valid_example_that_cannot_be_right():
    with (EXAMPLES / "exemple_valide.csv").open(encoding="utf-8") as f:
        periods = {n: r["datesPeriodeVersement"] for n, r in enumerate(csv.DictReader(f), start=2)}
    inverted = problems.period(24, "datesPeriodeVersement", periods[24])
    start, end = periods[24].split("/")
    assert [p.titre for p in inverted] == ["Période de versement inversée"]
    assert inverted[0].detail == f"la fin ({end}) précède le début ({start})"
    assert f"écrire {end}/{start}" in inverted[0].correction
    impossible = problems.period(27, "datesPeriodeVersement", periods[27])
    assert [p.titre for p in impossible] == ["Date inexistante"]
    assert impossible[0].correction.endswith(", peut-être 2017-05-30 ?")
    assert problems.period(2, "datesPeriodeVersement", periods[2]) == []
