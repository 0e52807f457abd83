"""The reviewable decisions file: per table of the documents, the year, the date and the
reference of its délibération, as read; the data officer completes or corrects them.

A row counts as the officer's answer when its `origine` is `agent`, or when a value was
typed in a row the program could not fill (`origine` = `à compléter`): the documents are
re-read on every run, the officer's answers are kept and win."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from tasks.errors import InvalidData
from tasks.subventions.model import Decision

COLUMNS = ["fichier", "tableau", "annee", "date", "reference", "origine"]
DOCUMENT, AGENT, MISSING = "document", "agent", "à compléter"

Key = tuple[str, int]


def read_answers(path: Path) -> dict[Key, Decision]:
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text), delimiter=";")
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidData(
            f"colonne(s) absente(s) du fichier des décisions : {', '.join(missing)}",
            where=str(path),
            action=f"gardez l'en-tête {';'.join(COLUMNS)}, ou supprimez le fichier pour le "
            "faire réécrire",
        )
    answers = {}
    for number, row in enumerate(reader, start=2):
        typed = any((row[c] or "").strip() for c in ("annee", "date", "reference"))
        if row["origine"].strip() == AGENT or (row["origine"].strip() != DOCUMENT and typed):
            answers[(row["fichier"], int(row["tableau"] or 0))] = _decision(row, path, number)
    return answers


def _decision(row: dict, path: Path, number: int) -> Decision:
    try:
        annee = int(row["annee"]) if row["annee"].strip() else None
        date = dt.date.fromisoformat(row["date"].strip()) if row["date"].strip() else None
    except ValueError as error:
        raise InvalidData(
            f"année ou date illisible : {row['annee']!r}, {row['date']!r}",
            where=f"{path}, ligne {number}",
            action="écrivez l'année sur 4 chiffres et la date au format AAAA-MM-JJ "
            "(par exemple 2019 et 2019-03-12)",
        ) from error
    return Decision(annee=annee, date=date, reference=row["reference"].strip() or None)


def write(path: Path, decisions: dict[Key, Decision], answers: dict[Key, Decision]) -> None:
    """UTF-8 with BOM and `;`, for a spreadsheet. Answers are written back as such."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=";", lineterminator="\n")
        writer.writerow(COLUMNS)
        for (fichier, tableau), decision in sorted(decisions.items()):
            answer = answers.get((fichier, tableau))
            shown = answer or decision
            complete = shown.annee is not None and shown.date is not None
            origine = AGENT if answer else (DOCUMENT if complete else MISSING)
            writer.writerow(
                [
                    fichier,
                    tableau,
                    shown.annee or "",
                    shown.date.isoformat() if shown.date else "",
                    shown.reference or "",
                    origine,
                ]
            )
