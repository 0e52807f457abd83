"""The changelog of a published file: rows added, removed and changed since last time."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from tasks.core.text import french_number

EXAMPLES = 5
KEEP_ENTRIES = 10
HEADING = "### Journal des modifications"


def snapshot_rows(frame: pd.DataFrame, key: list[str]) -> dict[str, dict]:
    """Rows as plain JSON-able dicts, indexed by their key (as a JSON list)."""
    rows = {}
    for record in frame.to_dict("records"):
        row = {column: _plain(value) for column, value in record.items()}
        rows[json.dumps([row[k] for k in key], ensure_ascii=False)] = row
    return rows


@dataclass
class Changes:
    first: bool
    rows: int
    added: int = 0
    removed: int = 0
    changed: int = 0
    by_column: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    @property
    def revises(self) -> bool:
        """Rows already published are changed or removed, or what was published is not
        known (no snapshot): the previous file must be kept before it is replaced."""
        return self.first or bool(self.removed or self.changed)

    @property
    def empty(self) -> bool:
        return not (self.first or self.added or self.removed or self.changed)

    def summary(self) -> str:
        if self.first:
            lines = "ligne" if self.rows == 1 else "lignes"
            return f"première publication ({french_number(self.rows)} {lines})"
        text = (
            f"{self.added} ligne(s) ajoutée(s), {self.removed} supprimée(s), "
            f"{self.changed} modifiée(s)"
        )
        if self.by_column:
            columns = ", ".join(f"{name} : {count}" for name, count in self.by_column.most_common())
            text += f" (par colonne : {columns})"
        if self.examples:
            text += ". Exemples : " + " ; ".join(self.examples)
        return text


def compare(previous: dict[str, dict] | None, current: dict[str, dict]) -> Changes:
    if previous is None:
        return Changes(first=True, rows=len(current))
    changes = Changes(first=False, rows=len(current))
    added = [k for k in current if k not in previous]
    removed = [k for k in previous if k not in current]
    changes.added, changes.removed = len(added), len(removed)
    changes.examples += [f"ajout {_label(k)}" for k in added[:2]]
    changes.examples += [f"retrait {_label(k)}" for k in removed[:2]]
    for key in (k for k in current if k in previous):
        before, after = previous[key], current[key]
        columns = [c for c in after if before.get(c) != after.get(c)]
        if columns:
            changes.changed += 1
            changes.by_column.update(columns)
            for column in columns:  # up to two examples for each changed column
                if changes.by_column[column] <= 2 and len(changes.examples) < 2 * EXAMPLES:
                    changes.examples.append(
                        f"{_label(key)} {column} : {_shown(before.get(column))} → "
                        f"{_shown(after.get(column))}"
                    )
    return changes


def entry(date: str, millesimes: str, changes: Changes) -> str:
    return f"- **{date}** (millésime(s) {millesimes}) : {changes.summary()}"


def journal(previous_journal: str, new_entry: str) -> str:
    """The resource's changelog: the new entry first, the last ten kept."""
    entries = [line for line in previous_journal.splitlines() if line.startswith("- ")]
    return "\n".join([HEADING, "", *[new_entry, *entries][:KEEP_ENTRIES]])


def dates(journal: str) -> list[str]:
    """The dates of a journal's entries, newest first."""
    return re.findall(r"^- \*\*(\d{4}-\d{2}-\d{2})\*\*", journal, flags=re.MULTILINE)


def journal_of(description: str) -> str:
    """The changelog part of a resource description ('' when there is none)."""
    marker = description.find(HEADING)
    return description[marker:] if marker >= 0 else ""


def _label(key: str) -> str:
    return " · ".join(str(part) for part in json.loads(key))


def _shown(value) -> str:
    return "vide" if value is None else str(value)


def _plain(value):
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):  # a DATE column (SCDL dateConvention)
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, dt.date | Decimal):
        return str(value)
    return value
