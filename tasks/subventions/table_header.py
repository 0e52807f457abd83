"""Which row of a table is its header, and what each column holds: the beneficiary, one
or several amounts (« Fonctionnement » / « Exceptionnelle » under « Subvention 2019 »,
or one column per year), the objet, a year, a date."""

from __future__ import annotations

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
    "beneficiaire": r"\b(?:association|beneficiaire|organisme|nom|structure|denomination)s?\b",
    "montant": r"€|\b(?:montant|subvention|somme|attribue|fonctionnement|exceptionnel"
    r"|investissement)(?:e|s|es|le|les)?\b",
}
# Amount columns that are not what was granted: counting them would invent subsidies.
_NOT_GRANTED = re.compile(r"demande|sollicite|rappel|pour memoire|n-1|precedent|total")
TOTAL = re.compile(r"^(?:total|totaux)\b")


@dataclass(frozen=True)
class Amount:
    column: int
    label: str | None  # the sub-header (« Fonctionnement »), when there is one
    annee: int | None  # a year in the column's header (« 2019 »)


@dataclass(frozen=True)
class Header:
    start: int  # index of the (first) header row
    end: int  # index of the first row after the header
    beneficiaire: int
    amounts: list[Amount]
    objet: int | None
    annee: int | None
    date: int | None


def _role(text: str) -> str | None:
    lowered = plain(text)
    hits = [(m.start(), role) for role, p in _ROLES.items() if (m := re.search(p, lowered))]
    return min(hits)[1] if hits else None


def _header(texts: list[str], subs: list[str], start: int, end: int) -> Header | None:
    roles = [_role(text) for text in texts]
    if "beneficiaire" not in roles:
        return None
    amounts = [
        Amount(i, _label(subs[i] if i < len(subs) else ""), year_in(text))
        for i, text in enumerate(texts)
        if roles[i] == "montant" and not _NOT_GRANTED.search(plain(text))
    ]
    if not amounts:
        return None
    first = {role: roles.index(role) if role in roles else None for role in _ROLES}
    return Header(
        start,
        end,
        roles.index("beneficiaire"),
        amounts,
        first["objet"],
        first["annee"],
        first["date"],
    )


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
            return single
        if (single is not None or len(table.rows[index]) > 1) and below:
            subs = ["" if i < len(top) and b == top[i] else b for i, b in enumerate(below)]
            double = _header(_combine(top, below), subs, index, index + 2)
            if double is not None and _is_sub_header(double, top, below):
                return double
    return None
