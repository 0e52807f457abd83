"""The décision a text states: « Délibération n° 2019-12 du 12/03/2019 », « Conseil
municipal, séance du 3 février 2020 », « Budget primitif 2019 »… Only what is written:
a text naming two years, or a date outside any décision, says nothing. What no text
says is asked (YEAR_QUESTION, DATE_QUESTION) and the officer's answers applied."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal

from tasks.subventions.amounts import _without_accents
from tasks.subventions.model import Decision, Issue, Place, Reading

YEAR_QUESTION = "Année des subventions introuvable"
DATE_QUESTION = "Date de la délibération introuvable"
YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_YEAR_WORDS = re.compile(r"\b(?:subventions?|exercice|budget|annee)\b")
# A date counts only beside these words: « imprimé le 15/06/2021 » is no décision.
_DECISION_WORDS = re.compile(r"deliberation|conseil municipal|seance|decision|arrete")
_MONTHS = [
    "janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout",
    "septembre", "octobre", "novembre", "decembre",
]  # fmt: skip
_DATES = [
    (re.compile(r"\b(\d{1,2})(?:er)?\s+(" + "|".join(_MONTHS) + r")\s+((?:19|20)\d{2})\b"), "dmy"),
    (re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-]((?:19|20)\d{2})\b"), "dmy"),
    (re.compile(r"\b((?:19|20)\d{2})-(\d{2})-(\d{2})\b"), "ymd"),
]
_REFERENCE = re.compile(
    r"(?:d[ée]lib[ée]ration|d[ée]cision|arr[êe]t[ée])\s+n\s*(?:°|º|o\b)\.?\s*[\w./-]*\d[\w./-]*",
    re.IGNORECASE,
)
NOTHING = Decision()


def plain(text: str) -> str:
    """Lower case without accents, for matching words people type either way."""
    return _without_accents(text).lower().strip()


def date_in(text: str, *, alone: bool = False) -> dt.date | None:
    """The first valid date of a text speaking of a décision (or of a date cell: `alone`)."""
    lowered = plain(text)
    if not alone and not _DECISION_WORDS.search(lowered):
        return None
    found = []
    for pattern, order in _DATES:
        for match in pattern.finditer(lowered):
            a, b, c = match.groups()
            day, month, year = (a, b, c) if order == "dmy" else (c, b, a)
            month = _MONTHS.index(month) + 1 if month in _MONTHS else int(month)
            try:
                found.append((match.start(), dt.date(int(year), month, int(day))))
            except ValueError:
                continue  # « 31/02/2019 »: not a date, whatever it is
    return min(found)[1] if found else None


def year_in(text: str) -> int | None:
    years = set(YEAR.findall(text))
    return int(years.pop()) if len(years) == 1 else None


def scan(text: str) -> Decision:
    """What one text says: explicit year (« Exercice 2019 »), date, reference."""
    reference = _REFERENCE.search(text)
    lowered = plain(text)
    annee = None
    if _YEAR_WORDS.search(lowered):
        rest = _REFERENCE.sub(" ", lowered)
        for pattern, _ in _DATES:
            rest = pattern.sub(" ", rest)
        annee = year_in(rest)  # « 2019-2020 » names two years: nothing about one table
    return Decision(
        annee=annee,
        date=date_in(text),
        reference=" ".join(reference.group(0).split()).rstrip(".-/") if reference else None,
    )


def fill(first: Decision, then: Decision) -> Decision:
    """`first`, its empty fields taken from `then`."""
    return Decision(
        annee=first.annee if first.annee is not None else then.annee,
        date=first.date or then.date,
        reference=first.reference or then.reference,
    )


def fall_back(near: Decision, far: Decision) -> Decision:
    """The text near a table, completed by text farther away (the document's title). A
    date and a reference belong to one décision: a near décision takes neither from a
    far one, nor the far year (its own date gives the year)."""
    if near.date is None and near.reference is None:
        return fill(near, far)
    if near.date is None:
        return fill(near, Decision(annee=far.annee))
    return near


def resolved(decision: Decision) -> Decision:
    """The year is the one stated, else the year of the délibération."""
    if decision.annee is None and decision.date is not None:
        return dataclasses.replace(decision, annee=decision.date.year)
    return decision


def from_texts(texts: Iterable[str], farther: Decision = NOTHING) -> Decision:
    """The décision stated by `texts` (nearest first), then by `farther`."""
    found = NOTHING
    for text in texts:
        found = fill(found, scan(text))
    return fall_back(found, farther)


# --- The officer's answers ---------------------------------------------------------

Key = tuple[str, int]


def decisions_found(reading: Reading) -> dict[Key, Decision]:
    """Per (fichier, tableau), the décision the document gives (a field differing between
    the table's rows, from a year column, is left empty), for a reviewable decisions.csv;
    a table with a question but no line is listed too."""
    values: dict[Key, list[Decision]] = {}
    for line in reading.lines:
        values.setdefault((line.place.fichier, line.place.tableau or 0), []).append(line.decision)
    for issue in reading.issues:
        if issue.place is not None and issue.what.startswith((YEAR_QUESTION, DATE_QUESTION)):
            values.setdefault((issue.place.fichier, issue.place.tableau or 0), [])
    return {key: _common(found) for key, found in values.items()}


def _common(decisions: list[Decision]) -> Decision:
    def single(values: set):
        return values.pop() if len(values) == 1 else None

    return Decision(
        annee=single({d.annee for d in decisions}),
        date=single({d.date for d in decisions}),
        reference=single({d.reference for d in decisions}),
    )


def apply_answers(reading: Reading, answers: dict[Key, Decision]) -> Reading:
    """The reading with the officer's answers: a field they filled wins over the
    document, and the question it answers is gone. A total printed under an unknown
    year moves to the answered year when every questioned table got the same one."""
    lines = [
        dataclasses.replace(line, decision=_answered(line.decision, answers.get(_key(line.place))))
        for line in reading.lines
    ]
    issues = [issue for issue in reading.issues if not _answers(issue, answers)]
    return Reading(
        path=reading.path,
        lines=lines,
        totals=_moved_totals(reading, answers),
        checks=list(reading.checks),
        skipped=list(reading.skipped),
        issues=issues,
    )


def _key(place: Place) -> Key:
    return place.fichier, place.tableau or 0


def _answered(document: Decision, answer: Decision | None) -> Decision:
    if answer is None:
        return document
    return resolved(fill(answer, document))


def _answers(issue: Issue, answers: dict[Key, Decision]) -> bool:
    answer = answers.get(_key(issue.place)) if issue.place is not None else None
    if answer is None:
        return False
    if issue.what.startswith(YEAR_QUESTION):
        return answer.annee is not None or answer.date is not None
    return issue.what.startswith(DATE_QUESTION) and answer.date is not None


def _moved_totals(reading: Reading, answers: dict[Key, Decision]) -> dict[int | None, Decimal]:
    totals = dict(reading.totals)
    asked = {
        _key(issue.place)
        for issue in reading.issues
        if issue.place is not None and issue.what.startswith(YEAR_QUESTION)
    }
    years = {resolved(answers[key]).annee if key in answers else None for key in asked}
    if None in totals and len(years) == 1 and None not in years:
        year = years.pop()
        totals[year] = totals.get(year, Decimal("0.00")) + totals.pop(None)
    return totals
