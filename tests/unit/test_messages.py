"""The quality gate in words (tasks/quality/messages.py): each rule in French, unexpected
values with their commune, and what could not be evaluated."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tasks.quality import messages
from tasks.quality.suites import EXPECTATIONS_DIR, load_suite
from tests.unit.conftest import real_communes


@pytest.fixture(scope="module")
def communes_suite():
    return load_suite(EXPECTATIONS_DIR / "communes.json")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """The first twelve communes of the real sample, with the mart's column names."""
    records = real_communes()[:12]
    return pd.DataFrame(
        {
            "code_commune": [r["code"] for r in records],
            "nom_commune": [r["nom"] for r in records],
            "population_municipale": [r["population"] for r in records],
        }
    )


# Rules ----------------------------------------------------------------------------------
def test_each_rule_of_a_real_suite_reads_in_french_with_its_severity(communes_suite):
    declared = json.loads((EXPECTATIONS_DIR / "communes.json").read_text(encoding="utf-8"))
    described = [messages.described(e) for e in communes_suite.expectations]
    assert len(described) == len(declared["expectations"])
    for text, entry in zip(described, declared["expectations"], strict=True):
        label = "[bloquante]" if entry["meta"]["severity"] == "critical" else "[avertissement]"
        assert text.startswith(label + " ")
        assert "expect_" not in text and "None" not in text
    assert described[0] == "[bloquante] la somme de is_mel est comprise entre 95 et 95"
    assert described[-1] == (
        "[avertissement] la colonne population_municipale est toujours renseignée "
        "(lorsque is_mel==True)"
    )


def test_float_bounds_that_are_whole_numbers_read_as_integers():
    rule = messages.rule(
        "expect_column_values_to_be_between",
        {"column": "part_logements_vacants", "min_value": 0.0, "max_value": 100.0},
    )
    assert rule == "part_logements_vacants est compris entre 0 et 100"
    decimal = messages.rule(
        "expect_column_values_to_be_between",
        {"column": "ecart_insee", "min_value": -0.5, "max_value": 0.5},
    )
    assert decimal == "ecart_insee est compris entre -0.5 et 0.5"


@pytest.mark.parametrize(
    ("expectation", "kwargs", "expected"),
    [
        (
            "expect_column_values_to_be_between",
            {"column": "foyers_allocataires", "min_value": 0, "max_value": None},
            "foyers_allocataires est supérieur ou égal à 0",
        ),
        (
            "expect_column_values_to_be_between",
            {"column": "evolution", "max_value": 15},  # GX drops the open bound
            "evolution est inférieur ou égal à 15",
        ),
        (
            "expect_table_row_count_to_be_between",
            {"min_value": 1, "max_value": None},
            "le mart a au moins 1 ligne(s)",
        ),
        (
            "expect_column_unique_value_count_to_be_between",
            {"column": "code_commune", "min_value": 95},
            "code_commune a au moins 95 valeur(s) renseignée(s) distincte(s)",
        ),
    ],
)
def test_an_open_bound_reads_in_words_not_as_none(expectation, kwargs, expected):
    assert messages.rule(expectation, kwargs) == expected


def test_a_row_condition_is_said_after_the_rule():
    kwargs = {
        "column": "nom_commune",
        "row_condition": "is_mel==True",
        "condition_parser": "pandas",
    }
    assert messages.rule("expect_column_values_to_not_be_null", kwargs) == (
        "la colonne nom_commune est toujours renseignée (lorsque is_mel==True)"
    )
    as_gx_stores_it = {
        **kwargs,
        "row_condition": {"pass_through_filter": "is_mel==True", "type": "pass_through"},
    }
    assert messages.rule("expect_column_values_to_not_be_null", as_gx_stores_it) == (
        "la colonne nom_commune est toujours renseignée (lorsque is_mel==True)"
    )


def test_an_unknown_expectation_reads_as_its_words():
    assert messages.rule("expect_column_kl_divergence_to_be_less_than", {"column": "x"}) == (
        "expect column kl divergence to be less than"
    )


def test_a_rule_missing_a_parameter_is_left_unformatted_rather_than_failing():
    assert messages.rule("expect_column_values_to_match_regex", {"column": "siren"}) == (
        "{column} respecte le motif {regex}"
    )


# Samples -------------------------------------------------------------------------------
def test_unexpected_values_are_given_with_their_commune(frame):
    details = {"partial_unexpected_index_list": [3, 0], "partial_unexpected_list": [0, 0]}
    shown = messages.samples(details, frame, "population_municipale")
    expected = [
        f"{frame.loc[i, 'code_commune']} {frame.loc[i, 'nom_commune']} : "
        f"{int(frame.loc[i, 'population_municipale'])}"
        for i in (3, 0)
    ]
    assert shown == expected


def test_samples_stop_at_ten(frame):
    details = {"partial_unexpected_index_list": list(range(12)), "partial_unexpected_list": []}
    shown = messages.samples(details, frame, "nom_commune")
    assert len(shown) == messages.SAMPLE_SIZE == 10


def test_the_complete_format_gives_each_row_its_code_beside_its_value():
    details = {
        "partial_unexpected_index_list": [
            {"code_commune": "59522", "nom_commune": "Sailly-lez-Lannoy"}
        ],
        "partial_unexpected_list": [np.float64(250.0)],
    }
    assert messages.samples(details, pd.DataFrame(), "part_x") == [
        "59522 Sailly-lez-Lannoy : 250.0"
    ]


def test_values_without_rows_are_listed_as_such(frame):
    details = {"partial_unexpected_list": [np.int64(1001), "2A004"]}
    assert messages.samples(details, frame, "code_commune") == ["1001", "'2A004'"]


def test_a_row_without_commune_gives_the_value_alone():
    table = pd.DataFrame({"code_epci": ["200093201"], "ecart_population": [12.0]})
    details = {"partial_unexpected_index_list": [0], "partial_unexpected_list": [12.0]}
    assert messages.samples(details, table, "ecart_population") == ["12.0"]


# What could not be evaluated -----------------------------------------------------------
def test_a_missing_column_is_named_with_the_columns_of_the_mart(frame):
    text = messages.explain("KeyError: 'population'", {"column": "population"}, frame)
    assert text == (
        "la colonne population n'existe pas dans le mart (colonnes : code_commune, "
        "nom_commune, population_municipale)"
    )
    compound = messages.explain("", {"column_list": ["code_commune", "annee"]}, frame)
    assert compound.startswith("la colonne annee n'existe pas dans le mart")


def test_another_error_gives_the_last_line_of_its_message(frame):
    message = "Traceback (most recent call last):\n  ...\nTypeError: '<' not supported\n"
    assert messages.explain(message, {"column": "code_commune"}, frame) == (
        "l'attente n'a pas pu être évaluée (TypeError: '<' not supported)"
    )
    assert messages.explain("  ", {}, frame) == "l'attente n'a pas pu être évaluée (?)"


def test_the_message_of_a_metric_that_raised_is_found_where_gx_nests_it():
    info = {
        "column_values.nonnull.unexpected_count": {
            "raised_exception": False,
            "exception_message": None,
        },
        "('table.column_types', ())": {
            "raised_exception": True,
            "exception_message": "KeyError: 'population'",
        },
    }
    assert messages.raised_message(info) == "KeyError: 'population'"
    assert messages.raised_message({"raised_exception": False}) is None
    assert messages.raised_message(None) is None
