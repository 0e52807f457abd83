"""The French report of a subsidies build (tasks/subventions/report.py), from the sample
documents of Sailly-lez-Lannoy (fictitious) read, turned into SCDL rows and validated."""

from __future__ import annotations

import dataclasses

import pytest

from tasks.subventions import scdl
from tasks.subventions.identifiers_file import Identified
from tasks.subventions.model import Issue
from tasks.subventions.report import Build
from tasks.subventions.steps import assemble
from tests.unit.conftest import (
    SIRET_SAILLY,
    SUBSIDIES,
    sample_beneficiaries,
    sample_readings,
)

NNBSP = "\u202f"
DOCUMENTS = ("2016.docx", "complements_subventions.csv")


def identified() -> list[Identified]:
    """The groups of the sample's answers (identifiants.csv), one per beneficiary kept."""
    groups: dict[str, Identified] = {}
    for spelling, who in sample_beneficiaries().items():
        item = groups.setdefault(
            who.nom, Identified(who.nom.casefold(), who.nom, who.siret, who.rna, "api", [])
        )
        item.graphies[spelling] = [2016]
    return list(groups.values())


def assembled(config, tmp_path, *documents: str) -> Build:
    """The build of the subsidies flow (its `assemble` task, through `.fn()`)."""
    return assemble.fn(
        paths=[SUBSIDIES / "documents" / name for name in documents],
        readings=sample_readings(*documents),
        found=identified(),
        siret_attribuant=SIRET_SAILLY,
        commune=config.commune("59522"),
        config=config,
        out=tmp_path,
        issues=[],
        notes=[],
    )


@pytest.fixture
def build(subsidies_config, tmp_path) -> Build:
    return assembled(subsidies_config, tmp_path, *DOCUMENTS)


def euros(text: str) -> str:
    """« 8 500,50 € » as the report writes it: a narrow no-break space between thousands."""
    return text.replace(" ", NNBSP, 1)


def test_the_headline_counts_rows_documents_and_problems(build):
    # the tables of the csv give neither year nor date: two questions, and the file's
    # empty dates and periods
    blocking = [p for p in build.validation.problems if p.niveau != "avertissement"]
    assert not build.publiable
    assert build.headline() == (
        "Subventions aux associations — Commune de Sailly-lez-Lannoy : "
        f"{len(build.rows)} ligne(s) lue(s) dans 2 document(s), fichier SCDL NON publiable "
        f"({len(blocking) + len(build.issues)} problème(s) à corriger)"
    )


def test_a_build_without_problem_is_publishable(subsidies_config, tmp_path):
    build = assembled(subsidies_config, tmp_path, "2016.docx")
    assert build.publiable
    assert build.headline().endswith("dans 1 document(s), fichier SCDL valide")
    assert build.csv_path.name == scdl.file_name(build.commune, build.rows)


def test_yearly_totals_and_printed_totals_are_in_euros(build):
    report = build.markdown()
    count_2016 = sum(r.annee == 2016 for r in build.rows)
    # the TOTAL GÉNÉRAL row of 2016.docx prints 8 500,50, which the lines add up to
    assert [str(c.printed) for c in build.checks][:1] == ["8500.50"]
    assert f"| 2016 | {count_2016} | {euros('8 500,50 €')} |" in report
    assert "| inconnue | 2 |" in report
    assert f"| 2016.docx, tableau 1, ligne 13 | {euros('8 500,50 €')} | lignes du tableau 1 " in (
        report
    )
    assert report.count("| oui |") == len(build.checks)


def test_a_printed_total_that_disagrees_reads_non(build):
    printed = build.checks[0]
    build.checks[0] = dataclasses.replace(printed, read=printed.read - 100)
    assert f"| {printed.place} | {euros('8 500,50 €')} | lignes du tableau 1 " in build.markdown()
    assert f"| {euros('8 400,50 €')} | **NON** |" in build.markdown()


def test_questions_come_first_with_where_to_answer(build):
    report = build.markdown()
    section = report.split("## À corriger ou à compléter avant publication\n\n")[1]
    first = section.split("\n\n")[0].splitlines()
    assert first == [f"- {issue}" for issue in build.issues]
    assert (
        "Année des subventions introuvable pour le tableau 1 de complements_subventions.csv"
        in (first[0])
    )


def test_a_problem_of_the_file_points_to_the_document_and_the_file_to_edit(build):
    report = build.markdown()
    unknown_year = next(n for n, r in enumerate(build.rows, start=2) if r.annee is None)
    row = build.rows[unknown_year - 2]
    assert (
        f"ligne {unknown_year} — " in report
        and f"(lu dans : {row.place} ; à répondre dans decisions.csv, "
        f"{row.place.fichier} tableau {row.place.tableau})"
        in report
    )
    assert "## Validation : NON conforme au schéma SCDL subventions 2.1.1" in report


def test_every_subsidy_is_listed_beside_where_it_was_read(build):
    report = build.markdown()
    for number, row in enumerate(build.rows, start=2):
        assert f"| {number} | {row.annee or 'inconnue'} | {row.values['nomBeneficiaire']} " in (
            report
        )
        assert f"| {row.place} |" in report


def test_grouped_spellings_and_skipped_rows_are_shown(build):
    report = build.markdown()
    assert "| Comité des fêtes | « Comité des fêtes » (2016); « Comite des Fetes » (2016) |" in (
        report
    )
    assert "- 2016.docx, tableau 1, ligne 8 : « Club de judo » : montant « néant »" in report


def test_notes_never_block(build):
    build.notes = [Issue("deux graphies proches", None, "vérifiez")]
    assert (
        "## Remarques (n'empêchent pas la publication)\n\n- deux graphies proches : vérifiez"
        in (build.markdown())
    )
