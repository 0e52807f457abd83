"""The reviewable decisions file: per table of the documents, the year, the date and the
reference of its délibération; the data officer completes or corrects them.

Each row carries what the document says (`annee_lue`, `date_lue`, `reference_lue`, never
to be edited) beside the values used (`annee`, `date`, `reference`). A row whose values
differ from what was read is the officer's answer, whatever its `origine` says: the
documents are re-read on every run, the officer's answers are kept and win. An answer is
tied to its table by the table's first beneficiary: if the documents change so that the
table is gone or holds something else, the answer is kept in the file and reported,
never applied to another table."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

from tasks.core.errors import InvalidData
from tasks.subventions.model import Decision, Issue, Place, Reading

COLUMNS = [
    "fichier",
    "tableau",
    "premier_beneficiaire",
    "annee",
    "date",
    "reference",
    "origine",
    "annee_lue",
    "date_lue",
    "reference_lue",
]
DOCUMENT, AGENT, MISSING, ORPHAN = "document", "agent", "à compléter", "agent : tableau introuvable"
_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")  # what a spreadsheet makes of it

Key = tuple[str, int]


@dataclass(frozen=True)
class Answer:
    key: Key
    first: str  # the first beneficiary of the table when the officer answered
    decision: Decision
    number: int  # row of the decisions file


@dataclass(frozen=True)
class Table:
    """A table of the documents, as this run reads it."""

    key: Key
    first: str
    decision: Decision


def tables(readings: list[Reading], found: dict[Key, Decision]) -> dict[Key, Table]:
    firsts: dict[Key, str] = {}
    for reading in readings:
        for line in reading.lines:
            firsts.setdefault((line.place.fichier, line.place.tableau or 0), line.beneficiaire)
    return {key: Table(key, firsts.get(key, ""), decision) for key, decision in found.items()}


def read_answers(path: Path) -> list[Answer]:
    """The officer's answers: rows whose values differ from what the document says."""
    if not path.exists():
        return []
    reader = csv.DictReader(io.StringIO(_text(path)), delimiter=";")
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidData(
            f"colonne(s) absente(s) du fichier des décisions : {', '.join(missing)}",
            where=str(path),
            action=f"gardez l'en-tête {';'.join(COLUMNS)}, ou supprimez le fichier pour le "
            "faire réécrire (vos réponses seraient alors à ressaisir)",
        )
    answers = []
    for number, raw in enumerate(reader, start=2):
        row = {column: (raw.get(column) or "").strip() for column in COLUMNS}
        typed = _decision(row["annee"], row["date"], row["reference"], path, number)
        read = _decision(row["annee_lue"], row["date_lue"], row["reference_lue"], path, number)
        if typed != read or row["origine"].startswith(AGENT):
            key = (row["fichier"], _table_number(row["tableau"], path, number))
            answers.append(Answer(key, row["premier_beneficiaire"], typed, number))
    return answers


def match(
    answers: list[Answer], found: dict[Key, Table]
) -> tuple[dict[Key, Decision], list[Issue]]:
    """The answers that apply, and an issue for each answer whose table is gone."""
    assigned, orphans = _assign(answers, found)
    issues = [
        Issue(
            f"réponse de decisions.csv (ligne {answer.number}) pour le tableau {answer.key[1]} "
            f"de {answer.key[0]}, qui commençait par « {answer.first} » : ce tableau n'est plus "
            "dans les documents",
            Place(answer.key[0], answer.key[1]),
            "les documents ont changé : reportez la réponse sur la bonne ligne de "
            "decisions.csv (ou supprimez-la), puis relancez",
        )
        for answer in orphans
    ]
    return {key: answer.decision for key, answer in assigned.items()}, issues


def _assign(
    answers: list[Answer], found: dict[Key, Table]
) -> tuple[dict[Key, Answer], list[Answer]]:
    """Each answer goes to the table of its document that starts with the same
    beneficiary (its number may have changed when a table was added or removed); an
    answer that fits no table, or several equally, is an orphan, never applied."""
    assigned, orphans = {}, []
    for answer in answers:
        same_file = [t for t in found.values() if t.key[0] == answer.key[0]]
        fits = [t for t in same_file if not answer.first or t.first == answer.first]
        if len(fits) > 1:
            fits = [t for t in fits if t.key == answer.key]
        if len(fits) == 1:
            assigned[fits[0].key] = answer
        else:
            orphans.append(answer)
    return assigned, orphans


def write(path: Path, found: dict[Key, Table], answers: list[Answer]) -> None:
    """UTF-8 with BOM and `;`, for a spreadsheet; every answer is written back, even
    one whose table is gone (it says so in `origine`)."""
    assigned, orphans = _assign(answers, found)
    rows = []
    for key, table in sorted(found.items()):
        answer = assigned.get(key)
        shown = answer.decision if answer else table.decision
        complete = shown.annee is not None and shown.date is not None
        origine = AGENT if answer else (DOCUMENT if complete else MISSING)
        rows.append(_row(key, table.first, shown, origine, table.decision))
    rows += [_row(a.key, a.first, a.decision, ORPHAN, Decision()) for a in orphans]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def _row(key: Key, first: str, shown: Decision, origine: str, read: Decision) -> list:
    return [key[0], key[1], first, *_cells(shown), origine, *_cells(read)]


def _cells(decision: Decision) -> list[str]:
    return [
        str(decision.annee or ""),
        decision.date.isoformat() if decision.date else "",
        decision.reference or "",
    ]


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")  # saved by a spreadsheet on Windows


def _table_number(text: str, path: Path, number: int) -> int:
    if not text.isdigit():
        raise InvalidData(
            f"numéro de tableau illisible : {text!r}",
            where=f"{path}, ligne {number}",
            action="gardez dans la colonne tableau le numéro écrit par le programme",
        )
    return int(text)


def _decision(annee: str, date: str, reference: str, path: Path, number: int) -> Decision:
    if annee and not re.fullmatch(r"\d{4}", annee):
        raise InvalidData(
            f"année illisible : {annee!r}",
            where=f"{path}, ligne {number}",
            action="écrivez l'année sur 4 chiffres, par exemple 2019",
        )
    return Decision(
        annee=int(annee) if annee else None,
        date=_date(date, path, number) if date else None,
        reference=reference or None,
    )


def _date(text: str, path: Path, number: int) -> dt.date:
    french = _FRENCH_DATE.match(text)
    try:
        if french:
            day, month, year = map(int, french.groups())
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise InvalidData(
            f"date illisible ou impossible : {text!r}",
            where=f"{path}, ligne {number}",
            action="écrivez la date au format AAAA-MM-JJ (2019-03-12) ou JJ/MM/AAAA (12/03/2019)",
        ) from error
