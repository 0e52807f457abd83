"""Regroupings the strict grouping rule misses, proposed to the data officer and never
applied (tasks/subventions/regroupings.py): invented names, the sample documents of
Sailly-lez-Lannoy (fictitious), and one confirmation through the identifiers file, read
from the recorded (fictitious) answers of the API in a local mirror folder."""

from __future__ import annotations

import csv
import os

import pytest

from tasks.core.http import RetryPolicy
from tasks.subventions.beneficiaries import group, normalise
from tasks.subventions.identifiers import (
    COLUMNS,
    EntreprisesClient,
    Identified,
    read_identifiers,
    resolve,
    write_identifiers,
)
from tasks.subventions.regroupings import MAX_CONTAINERS, propose, rule_text
from tests.recherche_entreprises_fixtures import BASE_URL, CODE_COMMUNE, FOLDER, association
from tests.unit.conftest import SUBSIDIES, sample_readings

SIRET_A, SIRET_B = "99900003700013", "99900004500014"  # valid keys, fictitious


def item(name: str, *others: str, siret=None, rna=None, years=(2020,)) -> Identified:
    graphies = {spelling: list(years) for spelling in (name, *others)}
    return Identified(normalise(name), name, siret, rna, "introuvable", [], graphies)


def pairs(*groups: Identified, refused=()) -> set[tuple[str, str]]:
    """(moved, into) by retained name."""
    found = propose(groups, refused)
    return {(p.group.nom_retenu, p.into.nom_retenu) for p in found.proposals}


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("Foot", "US Sailly Foot"),
        ("Sailly en Fête", "Comité Sailly en Fête"),
        ("SAILLY-EN-FÊTE", "comité Sailly en fete"),  # accents, case, punctuation
        ("Amicale laïque", "Amicale laïque de Sailly-lez-Lannoy"),  # small words too
        ("Asso. des aînés", "Association des aînés de Sailly"),  # abbreviations
        ("Comité des fêtes", "Comité des fêtes de Sailly"),
    ],
)
def test_a_name_inside_another_is_proposed_into_it(short, long):
    found = propose([item(short), item(long, siret=SIRET_A)])  # one SIRET known: may be one
    [proposal] = found.proposals
    assert (proposal.group.nom_retenu, proposal.into.nom_retenu) == (short, long)
    assert proposal.reasons == ["nom contenu dans l'autre"]
    # never applied: the groups are left as they were
    assert set(proposal.group.graphies) == {short} and set(proposal.into.graphies) == {long}


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Foot", "US Sailly Football"),  # whole words only
        ("Fête Sailly", "Comité Sailly en Fête"),  # not in that order
        ("Sailly Fête", "Comité Sailly en Fête"),  # not side by side
        ("Club de judo", "Club de football"),  # words in common are not enough
        ("Harmo", "Harmonie municipale"),  # a piece of a word is no word
    ],
)
def test_names_that_do_not_contain_each_other_are_not_proposed(one, other):
    assert pairs(item(one), item(other)) == set()


def test_two_known_different_identifiers_are_two_associations():
    short = item("Comité des fêtes", siret=SIRET_A)
    long = item("Comité des fêtes du quartier de la gare", siret=SIRET_B)
    assert pairs(short, long) == set()
    assert pairs(item("Foot", rna="W599999001"), item("US Foot", rna="W599999002")) == set()


def test_the_same_siret_in_two_groups_is_proposed_even_without_common_words():
    found = propose([item("USSF", siret=SIRET_A), item("Union sportive Sailly", siret=SIRET_A)])
    [proposal] = found.proposals
    assert (proposal.group.nom_retenu, proposal.into.nom_retenu) == (
        "USSF",
        "Union sportive Sailly",
    )  # the shorter name moves
    assert proposal.reasons == [f"même SIRET {SIRET_A}"]
    both = propose([item("Foot", rna="W599999006"), item("US Foot", rna="W599999006")])
    assert both.proposals[0].reasons == ["même RNA W599999006", "nom contenu dans l'autre"]


def test_a_short_name_inside_many_others_is_said_once_not_proposed_for_each():
    containers = [
        "US Sailly Foot",
        "Foot loisirs",
        "École de foot",
        "Foot en salle",
        "Vétérans du foot",
    ]
    groups = [item("Foot"), *(item(name) for name in containers)]
    found = propose(groups)
    [vague] = found.vague
    assert vague.group.nom_retenu == "Foot" and len(vague.containers) == len(containers)
    assert not [p for p in found.proposals if p.group.nom_retenu == "Foot"]
    # the rest is still compared: a longer name that holds one of them
    more = propose([*groups, item("Foot loisirs Sailly")])
    assert {(p.group.nom_retenu, p.into.nom_retenu) for p in more.proposals} == {
        ("Foot loisirs", "Foot loisirs Sailly")
    }


def test_up_to_the_limit_each_container_is_proposed():
    containers = ["US Sailly Foot", "Foot loisirs", "École de foot"][:MAX_CONTAINERS]
    found = propose([item("Foot"), *(item(name) for name in containers)])
    assert {p.into.nom_retenu for p in found.proposals} == set(containers)
    assert found.vague == []
    # one cell for the officer, every key in it
    assert found.cells() == {"Foot": "ecole foot | foot loisirs | union sportive sailly foot"}


def test_the_officers_no_and_absent_groups_are_left_out():
    foot, us = item("Foot", "FOOT"), item("US Sailly Foot")
    found = propose([foot, us], refused={"FOOT", "Une graphie disparue"})
    assert found.proposals == [] and found.refused == {"FOOT"}
    assert found.cells() == {"FOOT": "non"}
    gone = item("US Sailly Foot")
    gone.absent = True  # an officer's row kept for a spelling no document holds any more
    assert pairs(item("Foot"), gone) == set()


def test_the_sample_documents_have_no_likely_regrouping_left():
    documents = sorted(os.listdir(SUBSIDIES / "documents"))
    readings = sample_readings(*documents)
    groups = group((line.beneficiaire, line.decision.annee) for r in readings for line in r.lines)
    found = [
        Identified(g.cle, g.nom_retenu, None, None, "introuvable", [], g.graphies) for g in groups
    ]
    assert propose(found).proposals == [] and propose(found).vague == []


def test_the_rule_is_stated_in_french():
    text = rule_text()
    assert "JAMAIS appliqués d'office" in text and "« Foot » n'est pas dans « Football »" in text
    assert f"plus de {MAX_CONTAINERS} autres" in text


def test_a_proposal_the_officer_confirms_is_applied_by_the_groupe_column(tmp_path):
    """The whole round: proposed in identifiants.csv, copied into `groupe` by the
    officer, applied at the next run (the rule for a changed `groupe`), then gone."""
    documents = [("Amicale laïque", 2022), ("Amicale laïque de Sailly-lez-Lannoy", 2021)]
    policy = RetryPolicy(timeout=5, attempts=1)
    source = EntreprisesClient(BASE_URL, str(FOLDER), tmp_path / "cache", policy=policy)
    path = tmp_path / "identifiants.csv"
    found = resolve(group(documents), source, CODE_COMMUNE)
    write_identifiers(path, found, propose(found).cells())
    rows = {row.graphie: row for row in read_identifiers(path)}
    long_key = "amicale laique sailly lez lannoy"
    assert rows["Amicale laïque"].groupe_propose == long_key
    assert rows["Amicale laïque de Sailly-lez-Lannoy"].groupe_propose == ""

    # the officer copies the proposed key into `groupe`, as a spreadsheet saves it
    with path.open(encoding="utf-8-sig", newline="") as f:
        edited = list(csv.DictReader(f, delimiter=";"))
    for row in edited:
        if row["graphie"] == "Amicale laïque":
            row["groupe"] = row["groupe_propose"]
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(edited)

    previous = read_identifiers(path)
    again = resolve(group(documents), source, CODE_COMMUNE, previous)
    [merged] = again
    assert merged.cle == long_key and set(merged.graphies) == {g for g, _ in documents}
    assert merged.origine == "api" and merged.siret == association("amicale")["siege"]["siret"]
    assert propose(again).cells() == {}
    write_identifiers(path, again, propose(again).cells())
    assert {row.groupe_propose for row in read_identifiers(path)} == {""}


def test_the_officers_no_is_read_from_the_file_and_written_back(tmp_path):
    documents = [("Foot", 2021), ("US Sailly Foot", 2021)]
    found = [item(name, years=[year]) for name, year in documents]
    path = tmp_path / "identifiants.csv"
    write_identifiers(path, found, propose(found).cells())
    with path.open(encoding="utf-8-sig", newline="") as f:
        edited = list(csv.DictReader(f, delimiter=";"))
    edited[0]["groupe_propose"] = "Non"  # as typed
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(edited)
    refused = {row.graphie for row in read_identifiers(path) if row.refuses_regrouping}
    assert refused == {"Foot"}
    again = propose(found, refused)
    assert again.proposals == [] and again.cells() == {"Foot": "non"}


def test_a_file_written_before_the_proposals_column_is_read():
    rows = read_identifiers(SUBSIDIES / "reponses" / "identifiants.csv")
    assert rows and {row.groupe_propose for row in rows} == {""}
