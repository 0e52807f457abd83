"""The publication plan as a data officer reads it (tasks/publication/plan.py)."""

from __future__ import annotations

import json

import pytest

from tasks.publication import reconcile
from tasks.publication.plan import PublicationReport
from tasks.publication.prepare import DATA
from tasks.publication.reconcile import BLOCKED, DatasetPlan, ResourcePlan

SITE = "bac à sable demo.data.gouv.fr"
BASELINE = "dernière publication enregistrée dans l'entrepôt (aucune clé d'API)"
REASON = (
    "attente(s) critique(s) en échec : [communes] la somme de is_mel est comprise entre 95 et 95"
)


@pytest.fixture
def report(prepared) -> PublicationReport:
    """A dry run with one dataset to create (the tiny communes mart), one unchanged and
    one blocked: the plans a publication makes, built by reconcile where it can."""
    to_create = reconcile.plan_from_records(prepared, None, {})
    unchanged = DatasetPlan(
        "comparateur/mel",
        "Indicateurs clés du comparateur de territoires (INSEE) : Métropole Européenne de Lille",
        reconcile.UNCHANGED,
        "6650c0ffee0000000000da7a",  # invented id
        resources=[ResourcePlan(DATA, "comparateur-mel.csv", reconcile.UNCHANGED)],
    )
    blocked = DatasetPlan("communes/59522", "Communes — Sailly-lez-Lannoy", BLOCKED, reason=REASON)
    return PublicationReport(
        "demo", SITE, True, BASELINE, [to_create, unchanged, blocked], waiting=["subventions"]
    )


def test_the_plan_says_it_is_a_simulation_and_what_it_compares_with(report):
    lines = report.text().splitlines()
    assert lines[:2] == [
        f"Publication sur {SITE} (demo) — SIMULATION : rien n'est envoyé",
        f"Comparaison avec : {BASELINE}",
    ]


def test_a_real_publication_says_so(report):
    report.dry_run = False
    assert report.text().splitlines()[0] == f"Publication sur {SITE} (demo) — publication réelle"


def test_each_dataset_is_listed_with_its_verdict_and_its_files(report, prepared):
    text = report.text()
    title = prepared.metadata["title"]
    assert f"    - communes/mel « {title} » : jeu à créer" in text
    for item in prepared.resources:
        assert f"        · {item.filename} : téléverser" in text
    assert (
        f"        · communes-mel.csv : téléverser — première publication ({prepared.rows} lignes)"
        in (text)
    )
    assert "    - comparateur/mel [6650c0ffee0000000000da7a] « Indicateurs" in text
    assert "        · comparateur-mel.csv : inchangé" in text


def test_a_blocked_dataset_gives_its_reason(report):
    lines = report.text().splitlines()
    at = lines.index("    - communes/59522 « Communes — Sailly-lez-Lannoy » : bloqué")
    assert lines[at + 1] == f"        raison : {REASON}"


def test_a_metadata_update_reads_as_such(report):
    report.datasets[1].action = reconcile.UPDATE
    assert "» : métadonnées du jeu à mettre à jour" in report.text()


def test_the_balance_counts_touched_unchanged_and_blocked_datasets(report):
    lines = report.text().splitlines()
    assert (
        "Bilan : 3 jeu(x) pour 1 périmètre(s) et 1 organisation(s) : 1 à créer ou modifier, "
        "1 inchangé(s), 1 bloqué(s), 0 en attente d'une source, 0 à compléter ; "
        "0 ancienne(s) version(s) conservée(s)."
    ) in lines
    assert lines[-1] == "Sans données, rien à publier : subventions."


def test_an_unchanged_dataset_with_a_file_to_replace_is_touched(report):
    report.datasets[1].resources[0].action = reconcile.REPLACE
    assert " : 2 à créer ou modifier, 0 inchangé(s), 1 bloqué(s)," in report.text()


def test_the_plan_is_written_as_markdown_and_json(report, tmp_path):
    folder = tmp_path / "publication"
    report.write(folder)
    markdown, as_json = folder / "plan-demo.md", folder / "plan-demo.json"
    assert report.files == [markdown, as_json]
    text = markdown.read_text(encoding="utf-8")
    assert text == f"# Plan de publication\n\n```\n{report.text()}\n```\n"
    assert f"Plan écrit dans {markdown}" in text and f"Plan écrit dans {as_json}" in text
    document = json.loads(as_json.read_text(encoding="utf-8"))
    assert "files" not in document
    assert (document["env"], document["dry_run"], document["waiting"]) == (
        "demo",
        True,
        ["subventions"],
    )
    assert [d["key"] for d in document["datasets"]] == [d.key for d in report.datasets]
    assert document["datasets"][2] == {
        "key": "communes/59522",
        "title": "Communes — Sailly-lez-Lannoy",
        "action": "bloqué",
        "dataset_id": None,
        "reason": REASON,
        "resources": [],
        "perimetre": None,
        "organisation": None,
        "entree": None,
    }
