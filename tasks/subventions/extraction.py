"""From a document's blocks to subsidy lines: find each table's header, read every row,
and tell apart beneficiaries, titles, blank rows and the document's own totals.

The year, date and reference of the décision come from the text around each table; what
the document does not say becomes a question for the data officer (decisions.csv), never
a guess: the file name is not used."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from tasks.subventions.amounts import holds_amounts, parse_amount
from tasks.subventions.decision_text import (
    DATE_QUESTION,
    NOTHING,
    YEAR_QUESTION,
    apply_answers,
    date_in,
    decisions_found,
    fall_back,
    fill,
    from_texts,
    plain,
    resolved,
    year_in,
)
from tasks.subventions.documents import Table, Text, read_blocks
from tasks.subventions.model import Decision, Issue, Line, Place, Reading, TotalCheck
from tasks.subventions.table_header import TOTAL, Header, find_header, unclear_amounts

# The questions and the officer's answers live with the décision; callers import them here.
__all__ = [
    "DATE_QUESTION",
    "NO_HEADER",
    "YEAR_QUESTION",
    "apply_answers",
    "decisions_found",
    "read_document",
]

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


@dataclass(frozen=True)
class _Printed:
    """A table's TOTAL row: the sum it prints, and per year for the report."""

    place: Place
    table: Table
    amount: Decimal
    by_year: dict[int | None, Decimal]


@dataclass
class _TableReading:
    reading: Reading
    table: Table
    number: int
    header: Header
    decision: Decision
    printed: list[_Printed]  # the document's TOTAL rows, checked once all is read
    totals: list[int] = field(default_factory=list)  # rows that look like a total

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
    elif _SUBTOTAL.match(first) or TOTAL.match(first):
        state.totals.append(index)
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


def _close_totals(state: _TableReading) -> None:
    """The last total-like row is the table's total; earlier ones close a category
    (« Total sport ») whose lines are counted one by one."""
    *subtotals, last = state.totals or [None]
    for index in subtotals:
        label = _one_line(_first_cell(state, index))
        state.skip(index, f"sous-total « {label} » (catégorie : ses lignes sont comptées)")
    if last is None:
        return
    printed = _printed(state, last)
    if printed is None:
        state.skip(last, "total sans montant")
        return
    state.printed.append(printed)
    label = _one_line(_first_cell(state, last))
    kind = "sous-total" if _SUBTOTAL.match(plain(label)) else "total"
    state.skip(last, f"{kind} « {label} » : total du tableau, comparé à la somme de ses lignes")


def _first_cell(state: _TableReading, index: int) -> str:
    return next(cell for cell in state.table.rows[index] if cell.strip())


def _printed(state: _TableReading, index: int) -> _Printed | None:
    cells = state.table.grid(index, fill=False)
    decision = _row_decision(state, cells)
    by_year: dict[int | None, Decimal] = {}
    for amount in state.header.amounts:
        try:
            montant = parse_amount(_cell(cells, amount.column))
        except ValueError as error:
            state.issue(index, f"total illisible : {error}", _FIX_AMOUNT)
            return None
        if montant is not None:
            annee = amount.annee if amount.annee is not None else decision.annee
            by_year[annee] = by_year.get(annee, Decimal("0.00")) + montant
    if not by_year:
        return None
    return _Printed(state.place(index), state.table, sum(by_year.values()), by_year)


def _check_totals(reading: Reading, printed: list[_Printed], tables: dict[int, Table]) -> None:
    """Each TOTAL row against the lines of its table, else of its table and the tables
    nested in it (a total often covers a detail given in a cell)."""
    sums: dict[int | None, Decimal] = {}
    for line in reading.lines:
        sums[line.place.tableau] = sums.get(line.place.tableau, Decimal("0.00")) + line.montant
    covered: set[int] = set()
    for total in printed:
        number = total.place.tableau
        read, covers = sums.get(number, Decimal("0.00")), f"lignes du tableau {number}"
        nested = [n for n, table in tables.items() if _inside(table, total.table)]
        if read != total.amount and nested:
            read += sum((sums.get(n, Decimal("0.00")) for n in nested), Decimal("0.00"))
            covers += f" et {_nested_names(nested)}"
            if read == total.amount:
                covered.update(nested)
        reading.checks.append(TotalCheck(total.place, total.amount, read, covers))
    for total in printed:
        if total.place.tableau not in covered:  # else counted in the outer TOTAL
            for annee, amount in total.by_year.items():
                reading.totals[annee] = reading.totals.get(annee, Decimal("0.00")) + amount


def _inside(table: Table, outer: Table) -> bool:
    parent = table.parent
    while parent is not None and parent is not outer:
        parent = parent.parent
    return parent is outer


def _nested_names(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"du tableau imbriqué {numbers[0]}"
    listed = ", ".join(map(str, numbers[:-1]))
    return f"des tableaux imbriqués {listed} et {numbers[-1]}"


# --- Tables and documents ----------------------------------------------------------


def read_document(path: Path) -> Reading:
    """Every subsidy line of the document at `path`, its printed totals, what was left
    out (and why) and the questions for the data officer."""
    blocks = read_blocks(path)
    reading = Reading(path=path)
    head = [b.text for b in blocks[: _first_table(blocks)] if isinstance(b, Text)]
    decisions: dict[int, Decision] = {}
    tables: dict[int, Table] = {}
    printed: list[_Printed] = []
    context: list[str] = []
    for block in blocks:
        if isinstance(block, Text):
            context.append(block.text)
            continue
        number = len(tables) + 1
        tables[number] = block
        parent = decisions.get(id(block.parent), NOTHING)
        fallback = fall_back(parent, from_texts(head))
        found = _read_table(reading, block, number, context[::-1], fallback, printed)
        decisions[id(block)] = found
        context = []
    _check_totals(reading, printed, tables)
    if not tables:
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
    reading: Reading,
    table: Table,
    number: int,
    context: list[str],
    fallback: Decision,
    printed: list[_Printed],
) -> Decision:
    header = find_header(table)
    if header is None:
        _no_header(reading, table, number)
        return resolved(from_texts(context, fallback))
    titles = [row[0] for row in table.rows[: header.start] if len(row) == 1 and row[0]]
    decision = resolved(from_texts([*titles[::-1], *context], fallback))
    state = _TableReading(reading, table, number, header, decision, printed)
    for index in range(header.start):
        _before_header(state, index)
    if not _granted_columns(state):
        return decision
    first_line = len(reading.lines)
    for index in range(header.end, len(table.rows)):
        _read_row(state, index)
    _close_totals(state)
    _ask(state, reading.lines[first_line:])
    return decision


def _granted_columns(state: _TableReading) -> bool:
    """Keep the amount columns that hold what this décision granted; False (and why)
    when none can be read as such."""
    header, annee = state.header, state.decision.annee
    place = state.place()
    for text in header.other_dates:
        why = f"colonne « {text} » ignorée : seule une date de délibération, de décision ou "
        state.reading.skipped.append((place, why + "de convention date la subvention"))
    earlier = [a for a in header.amounts if annee is not None and (a.annee or annee) < annee]
    for text in dict.fromkeys(a.text for a in earlier):
        why = f"colonne « {text} » ignorée : année antérieure à la décision ({annee}), "
        state.reading.skipped.append((place, why + "pas un montant attribué"))
    amounts = [a for a in header.amounts if a not in earlier]
    state.header = dataclasses.replace(header, amounts=amounts)
    unclear = unclear_amounts(amounts)
    if unclear:
        columns = ", ".join(f"« {text} »" for text in unclear)
        state.reading.issues.append(
            Issue(
                f"plusieurs colonnes de montant dans le tableau {state.number} de "
                f"{state.reading.path.name} ({columns}) : indiquez quelle colonne porte "
                "le montant attribué",
                place,
                "gardez dans le document la seule colonne du montant attribué, ou renommez "
                "les autres (par exemple « Montant demandé »), puis relancez",
            )
        )
    return bool(amounts) and not unclear


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
    width = max((len(table.grid(i, fill=False)) for i in range(len(table.rows))), default=0)
    rows = [table.grid(i, fill=False) + [""] * width for i in range(len(table.rows))]
    if not holds_amounts([[row[c] for row in rows] for c in range(width)]):
        cells = [_one_line(cell) for row in table.rows for cell in row if cell.strip()]
        shown = " | ".join(f"« {cell[:40]} »" for cell in cells[:3])
        reading.skipped.append((place, f"tableau sans en-tête de subventions, ignoré : {shown}"))
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
    questions = (
        ("annee", YEAR_QUESTION, "indiquez-la dans decisions.csv (colonne annee)"),
        ("date", DATE_QUESTION, "indiquez-la dans decisions.csv (colonne date, AAAA-MM-JJ)"),
    )
    for field_name, question, action in questions:
        if any(getattr(line.decision, field_name) is None for line in lines):
            state.reading.issues.append(
                Issue(f"{question} pour le tableau {number} de {name}", state.place(), action)
            )
