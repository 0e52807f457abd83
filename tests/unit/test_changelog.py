"""The changelog of a published file (tasks/publication/changelog.py)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pandas as pd
import pytest

from tasks.publication import changelog
from tests.unit.conftest import COMPARATEUR_EXTRACT

KEY = ["code_commune", "millesime"]


@pytest.fixture(scope="module")
def extract() -> pd.DataFrame:
    """The six real rows of the comparateur extract: code, P22_POP and P16_POP."""
    frame = pd.read_csv(COMPARATEUR_EXTRACT, sep=";", dtype=str, usecols=[0, 1, 2])
    return frame.rename(columns={"CODGEO": "code_commune"})


def population_rows(extract: pd.DataFrame, column: str) -> dict[str, dict]:
    frame = pd.DataFrame(
        {
            "code_commune": extract["code_commune"],
            "millesime": 2022,
            "population": extract[column].astype(int),
        }
    )
    return changelog.snapshot_rows(frame, KEY)


def label(code: str, millesime: int = 2022) -> str:
    return f"{code} · {millesime}"


def test_rows_are_indexed_by_their_key_as_a_json_list(extract):
    rows = population_rows(extract, "P22_POP")
    assert len(rows) == len(extract)
    first = extract.iloc[0]
    key = json.dumps([first["code_commune"], 2022])
    assert rows[key] == {
        "code_commune": first["code_commune"],
        "millesime": 2022,
        "population": int(first["P22_POP"]),
    }


def test_snapshot_values_are_plain_json_and_missing_values_are_none():
    frame = pd.DataFrame(
        {
            "code_commune": ["59522", "59350"],
            "valeur": [71.0, float("nan")],
            "jour": pd.to_datetime(["2024-03-01", "2024-03-01 10:30"], format="ISO8601"),
            "montant": [Decimal("1500.50"), None],
            "date_convention": [dt.date(2023, 5, 30), pd.NA],
        }
    )
    rows = changelog.snapshot_rows(frame, ["code_commune"])
    sailly, lille = rows['["59522"]'], rows['["59350"]']
    assert sailly == {
        "code_commune": "59522",
        "valeur": 71.0,
        "jour": "2024-03-01",  # a DATE column keeps its day only
        "montant": "1500.50",
        "date_convention": "2023-05-30",
    }
    assert lille["valeur"] is None and lille["montant"] is None
    assert lille["date_convention"] is None
    assert lille["jour"] == "2024-03-01T10:30:00"
    no_day = pd.DataFrame({"code_commune": ["59522"], "jour": pd.to_datetime([None])})
    assert changelog.snapshot_rows(no_day, ["code_commune"])['["59522"]']["jour"] is None
    json.dumps(rows)  # everything is JSON-able, as meta.instantanes stores it


def test_a_first_publication_counts_its_rows_in_french():
    rows = {json.dumps([str(i)]): {"n": i} for i in range(1234)}
    changes = changelog.compare(None, rows)
    assert changes.first and not changes.empty
    assert changes.summary() == "première publication (1\u202f234 lignes)"


def test_identical_rows_are_no_change(extract):
    rows = population_rows(extract, "P22_POP")
    changes = changelog.compare(rows, dict(rows))
    assert changes.empty
    assert changes.summary() == "0 ligne(s) ajoutée(s), 0 supprimée(s), 0 modifiée(s)"


def test_a_revised_figure_is_listed_with_its_old_and_new_value(extract):
    before = population_rows(extract, "P16_POP")
    after = population_rows(extract, "P22_POP")
    revised = extract[extract["P16_POP"] != extract["P22_POP"]]
    changes = changelog.compare(before, after)
    assert (changes.added, changes.removed, changes.changed) == (0, 0, len(revised))
    assert changes.by_column == {"population": len(revised)}
    # two examples per changed column, in the file's order
    assert changes.examples == [
        f"{label(row.code_commune)} population : {row.P16_POP} → {row.P22_POP}"
        for row in revised.head(2).itertuples()
    ]
    assert changes.summary().startswith(
        f"0 ligne(s) ajoutée(s), 0 supprimée(s), {len(revised)} modifiée(s) "
        f"(par colonne : population : {len(revised)}). Exemples : "
    )


def test_added_and_removed_rows_are_named_by_their_key(extract):
    before = population_rows(extract.iloc[:-1], "P22_POP")  # without Sailly-lez-Lannoy
    after = population_rows(extract.iloc[1:], "P22_POP")  # without the first commune
    changes = changelog.compare(before, after)
    gone, new = extract.iloc[0]["code_commune"], extract.iloc[-1]["code_commune"]
    assert (changes.added, changes.removed, changes.changed) == (1, 1, 0)
    assert changes.summary() == (
        "1 ligne(s) ajoutée(s), 1 supprimée(s), 0 modifiée(s). "
        f"Exemples : ajout {label(new)} ; retrait {label(gone)}"
    )


def test_a_value_that_became_empty_reads_vide():
    before = {'["59013"]': {"code_commune": "59013", "revenu_median": 27530}}
    after = {'["59013"]': {"code_commune": "59013", "revenu_median": None}}
    changes = changelog.compare(before, after)
    assert changes.examples == ["59013 revenu_median : 27530 → vide"]
    assert changes.by_column == {"revenu_median": 1}


def test_examples_stop_at_two_per_column_and_ten_in_all():
    columns = [f"c{i}" for i in range(7)]
    before = {json.dumps([str(k)]): dict.fromkeys(columns, 0) for k in range(3)}
    after = {key: dict.fromkeys(columns, 1) for key in before}
    changes = changelog.compare(before, after)
    assert changes.changed == 3
    assert changes.by_column == dict.fromkeys(columns, 3)
    assert len(changes.examples) == 2 * changelog.EXAMPLES
    shown = [example.split(" ")[1] for example in changes.examples]
    assert all(shown.count(column) <= 2 for column in columns)


def test_an_entry_gives_the_date_and_the_millesimes():
    changes = changelog.compare(None, {'["59522"]': {}, '["59350"]': {}})
    assert changelog.entry("2026-11-29", "2021, 2022", changes) == (
        "- **2026-11-29** (millésime(s) 2021, 2022) : première publication (2 lignes)"
    )


def test_the_journal_puts_the_new_entry_first_and_keeps_the_last_ten():
    old = "\n".join(f"- **2026-01-{day:02d}** (millésime(s) 2022) : x" for day in range(12, 0, -1))
    previous = f"{changelog.HEADING}\n\n{old}"
    journal = changelog.journal(previous, "- **2026-02-01** : nouveau")
    lines = journal.splitlines()
    assert lines[:2] == [changelog.HEADING, ""]
    entries = lines[2:]
    assert len(entries) == changelog.KEEP_ENTRIES
    assert entries[0] == "- **2026-02-01** : nouveau"
    assert entries[1:] == old.splitlines()[: changelog.KEEP_ENTRIES - 1]


def test_a_first_journal_holds_only_the_new_entry():
    assert changelog.journal("", "- **2026-02-01** : a") == (
        f"{changelog.HEADING}\n\n- **2026-02-01** : a"
    )


def test_the_journal_is_found_in_a_description_and_nothing_else():
    base = "95 lignes, millésime(s) 2022.\n- une liste qui n'est pas le journal"
    journal = changelog.journal("", "- **2026-02-01** : a")
    assert changelog.journal_of(f"{base}\n\n{journal}") == journal
    assert changelog.journal_of(base) == ""
    # read back, then continued: the base's own list never enters the journal
    continued = changelog.journal(changelog.journal_of(f"{base}\n\n{journal}"), "- b")
    assert continued.splitlines()[2:] == ["- b", "- **2026-02-01** : a"]
