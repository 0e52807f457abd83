"""From a document's blocks to subsidy lines: find each table's header, read every row,
and tell apart beneficiaries, titles, blank rows and the document's own totals.

The year, date and reference of the décision come from the text around each table; what
the document does not say becomes a question for the data officer (decisions.csv), never
a guess: the file name is not used."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from tasks.subventions.amounts import parse_amount
from tasks.subventions.decision_text import (
    NOTHING,
    date_in,
    fall_back,
    fill,
    from_texts,
    plain,
    resolved,
    year_in,
)
from tasks.subventions.documents import Table, Text, read_blocks
from tasks.subventions.model import Decision, Issue, Line, Place, Reading
from tasks.subventions.table_header import TOTAL, Header, find_header

YEAR_QUESTION = "Année des subventions introuvable"
DATE_QUESTION = "Date de la délibération introuvable"
NO_HEADER = "En-tête introuvable"

_NATURES = {
    "fonctionnement": "Subvention de fonctionnement",
    "exceptionnelle": "Subvention exceptionnelle",
    "exceptionnel": "Subvention exceptionnelle",
    "investissement": "Subvention d'investissement",
}
_SUBTOTAL = re.compile(r"^sous[- ]?totale?s?\b")


def _one_line(text: str) -> str:
    """A cell of several paragraphs as one line; spaces inside a line are kept as typed."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


# --- Rows --------------------------------------------------------------------------


@dataclass
class _TableReading:
    reading: Reading
    table: Table
    number: int
    header: Header
    decision: Decision

    def place(self, index: int | None = None) -> Place:
        return Place(self.reading.path.name, self.number, None if index is None else index + 1)

    def skip(self, index: int, why: str) -> None:
        self.reading.skipped.append((self.place(index), why))

    def issue(self, index: int, what: str, action: str) -> None:
        self.reading.issues.append(Issue(what, self.place(index), action))


def _cell(cells: list[str], column: int | None) -> str:
    return _one_line(cells[column]) if column is not None and column < len(cells) else ""


def _row_decision(state: _TableReading, cells: list[str]) -> Decision:
    h = state.header
    year = year_in(_cell(cells, h.annee)) if h.annee is not None else None
    date = date_in(_cell(cells, h.date), alone=True) if h.date is not None else None
    return resolved(fill(Decision(year, date), state.decision))


def _read_row(state: _TableReading, index: int) -> None:
    cells = state.table.grid(index, fill=False)
    filled = [cell for cell in state.table.rows[index] if cell.strip()]
    first = plain(filled[0]) if filled else ""
    amounts = [_cell(cells, a.column) for a in state.header.amounts]
    if not filled:
        state.skip(index, "ligne vide")
    elif _SUBTOTAL.match(first):
        state.skip(index, f"sous-total « {_one_line(filled[0])} » (les lignes sont comptées)")
    elif TOTAL.match(first):
        _read_total(state, index, cells)
    elif len(filled) == 1 and not any(amounts):
        state.decision = resolved(from_texts([filled[0]], state.decision))
        state.skip(index, f"ligne de titre « {_one_line(filled[0])} », pas un bénéficiaire")
    elif plain(" ".join(cells)) == plain(
        " ".join(state.table.grid(state.header.start, fill=False))
    ):
        state.skip(index, "en-tête répété")
    else:
        _read_lines(state, index, cells, amounts)


def _read_lines(state: _TableReading, index: int, cells: list[str], amounts: list[str]) -> None:
    beneficiaire = _cell(cells, state.header.beneficiaire)
    decision = _row_decision(state, cells)
    produced, reasons = False, []
    for amount, text in zip(state.header.amounts, amounts, strict=True):
        try:
            montant = parse_amount(text)
        except ValueError as error:
            state.issue(index, f"{error} pour « {beneficiaire} »", _FIX_AMOUNT)
            produced = True
            continue
        if not montant:
            reasons.append(_why_nothing(text, montant))
            continue
        if not beneficiaire:
            state.issue(index, f"montant {text} sans bénéficiaire", _FIX_BENEFICIARY)
        else:
            line = Line(
                place=state.place(index),
                beneficiaire=beneficiaire,
                montant=montant,
                objet=_objet(_cell(cells, state.header.objet), amount.label),
                decision=resolved(dataclasses.replace(decision, annee=amount.annee))
                if amount.annee is not None
                else decision,
            )
            state.reading.lines.append(line)
        produced = True
    if not produced:
        state.skip(
            index, f"« {beneficiaire} » : {', '.join(sorted(set(reasons)))}, rien d'attribué"
        )


_FIX_AMOUNT = "corrigez le montant dans le document (un nombre en euros, par exemple 1 500,00 €)"
_FIX_BENEFICIARY = "indiquez le bénéficiaire de ce montant dans le document"


def _why_nothing(text: str, montant: Decimal | None) -> str:
    if montant is not None:
        return "montant nul"
    return f"montant « {text} »" if text else "montant vide"


def _objet(objet: str, label: str | None) -> str | None:
    if label is None:
        return objet or None
    if objet and plain(objet) != plain(label):
        return f"{objet} — {label}"
    if objet:
        return objet
    return _NATURES.get(plain(label), label)


def _read_total(state: _TableReading, index: int, cells: list[str]) -> None:
    decision = _row_decision(state, cells)
    found = False
    for amount in state.header.amounts:
        text = _cell(cells, amount.column)
        try:
            montant = parse_amount(text)
        except ValueError as error:
            state.issue(index, f"total illisible : {error}", _FIX_AMOUNT)
            continue
        if montant is not None:
            annee = amount.annee if amount.annee is not None else decision.annee
            totals = state.reading.totals
            totals[annee] = totals.get(annee, Decimal("0.00")) + montant
            found = True
    why = "total du document (comparé à la somme des lignes)" if found else "total sans montant"
    state.skip(index, why)


# --- Tables and documents ----------------------------------------------------------


def read_document(path: Path) -> Reading:
    """Every subsidy line of the document at `path`, its printed totals, what was left
    out (and why) and the questions for the data officer."""
    blocks = read_blocks(path)
    reading = Reading(path=path)
    head = [b.text for b in blocks[: _first_table(blocks)] if isinstance(b, Text)]
    decisions: dict[int, Decision] = {}
    context: list[str] = []
    number = 0
    for block in blocks:
        if isinstance(block, Text):
            context.append(block.text)
            continue
        number += 1
        parent = decisions.get(id(block.parent), NOTHING)
        fallback = fall_back(parent, from_texts(head))
        decisions[id(block)] = _read_table(reading, block, number, context[::-1], fallback)
        context = []
    if number == 0:
        reading.issues.append(
            Issue(
                "aucun tableau dans le document",
                Place(path.name),
                "les subventions doivent être présentées en tableau (bénéficiaire, objet, "
                "montant) ; vérifiez qu'il s'agit du bon document",
            )
        )
    return reading


def _first_table(blocks: list) -> int:
    return next((i for i, b in enumerate(blocks) if isinstance(b, Table)), len(blocks))


def _read_table(
    reading: Reading, table: Table, number: int, context: list[str], fallback: Decision
) -> Decision:
    header = find_header(table)
    if header is None:
        _no_header(reading, table, number)
        return resolved(from_texts(context, fallback))
    titles = [row[0] for row in table.rows[: header.start] if len(row) == 1 and row[0]]
    decision = resolved(from_texts([*titles[::-1], *context], fallback))
    state = _TableReading(reading, table, number, header, decision)
    for index in range(header.start):
        _before_header(state, index)
    first_line = len(reading.lines)
    for index in range(header.end, len(table.rows)):
        _read_row(state, index)
    _ask(state, reading.lines[first_line:])
    return decision


def _before_header(state: _TableReading, index: int) -> None:
    filled = [cell for cell in state.table.rows[index] if cell.strip()]
    if not filled:
        state.skip(index, "ligne vide")
    elif len(filled) == 1:
        state.skip(index, f"ligne de titre « {_one_line(filled[0])} », pas un bénéficiaire")
    else:
        state.skip(index, "ligne avant l'en-tête du tableau, pas un bénéficiaire")


def _no_header(reading: Reading, table: Table, number: int) -> None:
    place = Place(reading.path.name, number)
    if not any(re.search(r"\d", cell) for row in table.rows for cell in row):
        reading.skipped.append((place, "tableau sans en-tête ni montant (mise en page)"))
        return
    reading.issues.append(
        Issue(
            f"{NO_HEADER} dans le tableau {number} de {reading.path.name} : aucune ligne ne "
            "nomme à la fois le bénéficiaire et le montant",
            place,
            "nommez les colonnes dans la première ligne du tableau, par exemple « Association » "
            "(ou Bénéficiaire, Organisme), « Objet » et « Montant » (ou Subvention, Somme "
            "attribuée), puis relancez",
        )
    )


def _ask(state: _TableReading, lines: list[Line]) -> None:
    """One question per table and missing field: the officer answers in decisions.csv."""
    name, number = state.reading.path.name, state.number
    if any(line.decision.annee is None for line in lines):
        state.reading.issues.append(
            Issue(
                f"{YEAR_QUESTION} pour le tableau {number} de {name}",
                state.place(),
                "indiquez-la dans decisions.csv (colonne annee)",
            )
        )
    if any(line.decision.date is None for line in lines):
        state.reading.issues.append(
            Issue(
                f"{DATE_QUESTION} pour le tableau {number} de {name}",
                state.place(),
                "indiquez-la dans decisions.csv (colonne date, AAAA-MM-JJ)",
            )
        )


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
