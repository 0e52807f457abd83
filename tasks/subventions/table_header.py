"""Which row of a table is its header, and what each column holds: the beneficiary, one
or several amounts (« Fonctionnement » / « Exceptionnelle » under « Subvention 2019 »,
or one column per year), the objet, a year, a date."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from itertools import zip_longest

from tasks.subventions.decision_text import YEAR, plain, year_in
from tasks.subventions.documents import Table

# In a header cell the first keyword names the column: « Objet de la subvention » is an
# objet, « Montant attribué à l'association » an amount.
_ROLES = {
    "annee": r"\b(?:annee|exercice)\b",
    "date": r"\bdate\b",
    "objet": r"\b(?:objet|motif|destination|nature de l.aide|projet)s?\b",
    "beneficiaire": r"\b(?:association|beneficiaire|organisme|structure|denomination)s?\b",
    "nom": r"\bnoms?\b",  # a beneficiary only when no column names one better
    "montant": r"€|\b(?:montant|subvention|somme|attribue|fonctionnement|exceptionnel"
    r"|investissement)(?:e|s|es|le|les)?\b",
}
# « Nom du projet » names the objet, not who receives the money.
_NOT_A_NAME = re.compile(r"\bnoms? (?:du |de la |de l.|des |de )?(?:projet|action|manifestation)")
# Amount columns that are not what was granted: counting them would invent subsidies.
_NOT_GRANTED = re.compile(
    r"demande|sollicite|propos|prevu|budget|rappel|pour memoire|\bp\.\s?m\b|\bn\s?-\s?1\b"
    r"|precedent|anterieur"
)
_TOTAL_COLUMN = re.compile(r"\btota(?:l|ux)\b")
# The kinds of grant that make several amount columns add up, not compete.
_KINDS = re.compile(
    r"fonctionnement|exceptionnel|investissement|projet|action|equipement|manifestation"
)
# Only the date of the décision is a dateConvention: not a payment or a request date.
_DECISION_DATE = re.compile(r"deliberation|decision|convention|vote|conseil|attribution")
_CURRENCY_ONLY = re.compile(r"^\s*(?:€|euros?|eur)?\s*$", re.IGNORECASE)
TOTAL = re.compile(r"^(?:total|totaux)\b")


@dataclass(frozen=True)
class Amount:
    column: int
    label: str | None  # the sub-header (« Fonctionnement »), when there is one
    annee: int | None  # a year in the column's header (« 2019 »)
    text: str = ""  # the whole header of the column, for a person


@dataclass(frozen=True)
class Header:
    start: int  # index of the (first) header row
    end: int  # index of the first row after the header
    beneficiaire: int
    amounts: list[Amount]
    objet: int | None
    annee: int | None
    date: int | None
    other_dates: tuple[str, ...] = ()  # dates that are not the décision's, left out


def _role(text: str) -> str | None:
    lowered = _NOT_A_NAME.sub("objet", plain(text))
    hits = [(m.start(), role) for role, p in _ROLES.items() if (m := re.search(p, lowered))]
    if not hits:
        return None
    role = min(hits)[1]
    # « Nom de l'association »: the word after « nom » says what is named.
    named = any(other == "beneficiaire" for _, other in hits)
    return "beneficiaire" if role == "nom" and named else role


def _header(texts: list[str], subs: list[str], start: int, end: int) -> Header | None:
    roles = [_role(text) for text in texts]
    if "beneficiaire" not in roles and "nom" not in roles:
        return None
    amounts = _amounts(texts, subs, roles)
    if not amounts:
        return None
    first = {role: roles.index(role) if role in roles else None for role in _ROLES}
    dates = [i for i, role in enumerate(roles) if role == "date"]
    decision_dates = [i for i in dates if _DECISION_DATE.search(plain(texts[i]))]
    return Header(
        start,
        end,
        first["beneficiaire"] if first["beneficiaire"] is not None else first["nom"],
        amounts,
        first["objet"],
        first["annee"],
        decision_dates[0] if decision_dates else None,
        tuple(dict.fromkeys(texts[i] for i in dates if i not in decision_dates)),
    )


def _amounts(texts: list[str], subs: list[str], roles: list[str | None]) -> list[Amount]:
    columns = [
        i
        for i, text in enumerate(texts)
        if roles[i] == "montant" and not _NOT_GRANTED.search(plain(text))
    ]
    # « Montant total » beside the amounts it adds up is their sum; alone, the amount.
    parts = [i for i in columns if not _TOTAL_COLUMN.search(plain(texts[i]))]
    return [
        Amount(i, _label(subs[i] if i < len(subs) else ""), year_in(texts[i]), texts[i])
        for i in parts or columns
    ]


def unclear_amounts(amounts: list[Amount]) -> list[str]:
    """The headers of amount columns that nothing tells apart (neither a kind of grant
    nor distinct years): adding them up could count one subsidy twice."""
    if len(amounts) < 2:
        return []
    keys = [(a.annee, m.group(0) if (m := _KINDS.search(plain(a.text))) else None) for a in amounts]
    if (None, None) not in keys and len(set(keys)) == len(keys):
        return []
    return list(dict.fromkeys(a.text for a in amounts))


def _label(sub: str) -> str | None:
    return YEAR.sub("", sub).strip(" -–:") or None


def _combine(top: list[str], sub: list[str]) -> list[str]:
    """Two header rows as one text per column. A spreadsheet keeps a merged top cell in
    its first column only: the columns under it with a sub-header inherit it."""
    combined, carried = [], ""
    for above, below in zip_longest(top, sub, fillvalue=""):
        below = "" if below == above else below  # a cell merged down both rows
        if above:
            carried = above if below else ""
        elif below and carried:
            above = carried
        combined.append(" ".join(t for t in (above, below) if t))
    return combined


def _is_sub_header(header: Header, top: list[str], row: list[str]) -> bool:
    new = ["" if i < len(top) and cell == top[i] else cell for i, cell in enumerate(row)]
    columns = {amount.column for amount in header.amounts}
    return (
        any(new)
        and not (header.beneficiaire < len(new) and new[header.beneficiaire])
        and any(new[i] for i in columns if i < len(new))
        and not any(TOTAL.match(plain(cell)) for cell in new)
    )


def find_header(table: Table) -> Header | None:
    """The first row (or pair of rows) naming a beneficiary and an amount column."""
    for index in range(len(table.rows)):
        top = table.grid(index, fill=True)
        below = table.grid(index + 1, fill=True) if index + 1 < len(table.rows) else []
        single = _header(top, [], index, index + 1)
        if single is not None and not (below and _is_sub_header(single, top, below)):
            return _without_currency_columns(table, single)
        if (single is not None or len(table.rows[index]) > 1) and below:
            subs = ["" if i < len(top) and b == top[i] else b for i, b in enumerate(below)]
            double = _header(_combine(top, below), subs, index, index + 2)
            if double is not None and _is_sub_header(double, top, below):
                return _without_currency_columns(table, double)
    return None


def _without_currency_columns(table: Table, header: Header) -> Header:
    """« Montant » merged over the figures and a column of « € » signs: the signs are
    no amount of their own."""
    rows = [table.grid(i, fill=False) for i in range(header.end, len(table.rows))]

    def signs_only(column: int) -> bool:
        cells = [row[column] for row in rows if column < len(row)]
        return all(_CURRENCY_ONLY.match(c) for c in cells) and any(c.strip() for c in cells)

    kept = [a for a in header.amounts if not signs_only(a.column)]
    return dataclasses.replace(header, amounts=kept) if kept else header
