"""The décision a text states (tasks/subventions/decision_text.py), on the texts of the
sample documents (samples/subventions/59522/documents/, fictitious but in the real
layouts), and the officer's answers applied to a reading."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tasks.core.settings import PROJECT_ROOT
from tasks.subventions import decision_text as dtext
from tasks.subventions.decision_text import DATE_QUESTION, YEAR_QUESTION, Decision
from tasks.subventions.documents import Text, read_blocks
from tasks.subventions.model import Issue, Line, Place, Reading

DOCUMENTS = PROJECT_ROOT / "samples" / "subventions" / "59522" / "documents"


def texts_of(name: str) -> list[str]:
    return [b.text for b in read_blocks(DOCUMENTS / name) if isinstance(b, Text)]


@pytest.mark.parametrize(
    ("document", "text", "expected"),
    [
        (
            "2016.docx",
            "Délibération n° 2016-08 du 14/03/2016 portant attribution des subventions.",
            Decision(None, dt.date(2016, 3, 14), "Délibération n° 2016-08"),
        ),
        ("2016.docx", "Subventions aux associations – Exercice 2016", Decision(annee=2016)),
        (
            "2019-2020.docx",
            "Conseil municipal, séance du 3 février 2020.",
            Decision(date=dt.date(2020, 2, 3)),
        ),
        (
            "2018.docx",
            "Délibération du 12 mars 2018 : le conseil municipal attribue :",
            Decision(date=dt.date(2018, 3, 12)),
        ),
        ("2021.odt", "Budget primitif 2021", Decision(annee=2021)),
    ],
)
def test_a_text_of_the_documents_says_its_year_date_and_reference(document, text, expected):
    assert text in texts_of(document)  # the very text of the document
    assert dtext.scan(text) == expected


def test_a_text_naming_two_years_says_no_year():
    [title, *_] = texts_of("2019-2020.docx")
    assert title == "Subventions aux associations 2019-2020"
    assert dtext.scan(title) == dtext.NOTHING


def test_a_date_outside_a_decision_is_no_date():
    printed = "Document imprimé le 15/06/2021"
    assert dtext.date_in(printed) is None
    assert dtext.date_in(printed, alone=True) == dt.date(2021, 6, 15)
    assert dtext.date_in("Délibération du 31/02/2019") is None  # no such day
    assert dtext.date_in("Séance du 1er avril 2019 (report du 28/03/2019)") == dt.date(2019, 4, 1)


def test_a_reference_is_kept_as_written_without_trailing_punctuation():
    assert dtext.scan("Décision n° 12. du 1er avril 2019").reference == "Décision n° 12"
    assert dtext.scan("arrêté no 2020/15-").reference == "arrêté no 2020/15"


def test_the_year_is_the_one_stated_else_the_year_of_the_deliberation():
    assert dtext.resolved(Decision(date=dt.date(2016, 3, 14))).annee == 2016
    stated = Decision(annee=2017, date=dt.date(2016, 12, 5))
    assert dtext.resolved(stated) == stated


def test_a_near_decision_takes_neither_date_nor_reference_from_the_title():
    far = Decision(2019, dt.date(2019, 3, 12), "Délibération n° 2019-12")
    near_dated = Decision(date=dt.date(2020, 2, 3))
    assert dtext.fall_back(near_dated, far) == near_dated
    near_reference = Decision(reference="Délibération n° 2020-02")
    assert dtext.fall_back(near_reference, far) == Decision(2019, None, "Délibération n° 2020-02")
    assert dtext.fall_back(dtext.NOTHING, far) == far


def test_texts_nearest_first_are_completed_by_the_farther_ones():
    texts = ["Subventions 2019", "Délibération n° 2019-12 du 12/03/2019"]
    title = dtext.scan("Subventions aux associations 2019-2020")
    assert dtext.from_texts(texts, title) == Decision(
        2019, dt.date(2019, 3, 12), "Délibération n° 2019-12"
    )


# The officer's answers -------------------------------------------------------------------
def reading_with_questions() -> Reading:
    """A table with no year nor date (as 2022.xlsx's second table), its printed total
    under an unknown year: invented amounts."""
    asked = Place("2022.xlsx", 2, 1)
    lines = [
        Line(Place("2022.xlsx", 2, 2), "GRS", Decimal("950.00"), "Gymnastique"),
        Line(Place("2022.xlsx", 2, 3), "Club des aînés", Decimal("200.00"), "Chorale"),
        Line(
            Place("2022.xlsx", 1, 2),
            "Harmonie municipale",
            Decimal("350.00"),
            None,
            Decision(2022, dt.date(2022, 3, 21), "Délibération n° 2022-15"),
        ),
    ]
    issues = [
        Issue(f"{YEAR_QUESTION} pour le tableau 2 de 2022.xlsx", asked, "indiquez-la"),
        Issue(f"{DATE_QUESTION} pour le tableau 2 de 2022.xlsx", asked, "indiquez-la"),
        Issue("montant illisible « néant »", Place("2022.xlsx", 1, 5)),
    ]
    return Reading(
        Path("2022.xlsx"),
        lines,
        totals={None: Decimal("1150.00"), 2022: Decimal("350.00")},
        issues=issues,
    )


def test_the_decisions_found_are_listed_per_table_for_review():
    found = dtext.decisions_found(reading_with_questions())
    assert found == {
        ("2022.xlsx", 2): dtext.NOTHING,
        ("2022.xlsx", 1): Decision(2022, dt.date(2022, 3, 21), "Délibération n° 2022-15"),
    }


def test_a_field_the_table_rows_disagree_on_is_left_empty():
    reading = Reading(
        Path("x.docx"),
        [
            Line(
                Place("x.docx", 1, 2),
                "A",
                Decimal(1),
                decision=Decision(2019, dt.date(2019, 3, 12)),
            ),
            Line(
                Place("x.docx", 1, 3),
                "B",
                Decimal(1),
                decision=Decision(2020, dt.date(2019, 3, 12)),
            ),
        ],
    )
    assert dtext.decisions_found(reading) == {("x.docx", 1): Decision(None, dt.date(2019, 3, 12))}


def test_an_answered_date_settles_both_questions_and_moves_the_total():
    answer = Decision(date=dt.date(2022, 6, 20))
    answered = dtext.apply_answers(reading_with_questions(), {("2022.xlsx", 2): answer})
    assert [line.decision for line in answered.lines[:2]] == [Decision(2022, answer.date)] * 2
    assert answered.lines[2].decision.reference == "Délibération n° 2022-15"  # untouched
    assert [issue.what for issue in answered.issues] == ["montant illisible « néant »"]
    assert answered.totals == {2022: Decimal("1500.00")}


def test_a_year_alone_answers_the_year_question_only():
    answered = dtext.apply_answers(reading_with_questions(), {("2022.xlsx", 2): Decision(2022)})
    assert [issue.what.split(" pour ")[0] for issue in answered.issues] == [
        DATE_QUESTION,
        "montant illisible « néant »",
    ]
    assert answered.lines[0].decision == Decision(annee=2022)


def test_without_answers_the_reading_is_unchanged():
    reading = reading_with_questions()
    answered = dtext.apply_answers(reading, {})
    assert answered.lines == reading.lines and answered.issues == reading.issues
    assert answered.totals == reading.totals
