"""The French summary at the end of a refresh (tasks/refresh/summary.py), from hand-built
inputs: what was read, loaded, checked, blocked and written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tasks.core.settings import PROJECT_ROOT, Settings
from tasks.publication.plan import PublicationReport
from tasks.quality.gate import Outcome, Validation
from tasks.refresh import summary as refresh_summary
from tasks.refresh.summary import Summary, mel_membership, summarize
from tasks.sources.discovery import Discovered
from tasks.sources.extract import DOWNLOADED, SAME_CONTENT, Fetched
from tasks.sources.load import LoadReport
from tasks.transform.exports import Export
from tests.unit.conftest import CENSUS, COG, MEL, SAMPLE_FILES, mel_members, raw_file

NNBSP = "\u202f"


def fetched_samples() -> list[Fetched]:
    geo, comparateur = (SAMPLE_FILES[s] for s in ("cog_communes", "insee_comparateur"))
    return [
        Fetched("cog_communes", raw_file("cog_communes", *geo), DOWNLOADED),
        Fetched(
            "insee_comparateur",
            raw_file("insee_comparateur", *comparateur),
            SAME_CONTENT,
            Discovered("insee_comparateur", CENSUS, "https://www.insee.fr/x.zip", "registre"),
        ),
        Fetched(
            "odt_indicateurs",
            None,
            "en échec : HTTP 500",
            indicateur="part_immigres",
            error="indicateur part_immigres : HTTP 500",
        ),
    ]


def outcome(
    success: bool,
    severity: str = "critical",
    expectation: str = "expect_column_values_to_not_be_null",
    rule: str = "la colonne nom_commune est toujours renseignée",
    **fields,
) -> Outcome:
    return Outcome(
        "communes", expectation, rule, fields.pop("column", None), severity, success, **fields
    )


@pytest.fixture
def summary(tmp_path) -> Summary:
    members = len(mel_members())
    ignored = tuple(f"COL{i}" for i in range(10))
    return Summary(
        fetched=fetched_samples(),
        loads=[
            LoadReport("cog_communes", COG, 37590, skipped=False),
            LoadReport("insee_comparateur", CENSUS, 95, skipped=True, ignored_columns=ignored),
        ],
        mel_count=members,
        cog=COG,
        epci=MEL,
        territoire="EPCI Métropole Européenne de Lille (200093201) : 95 commune(s)",
        outcomes=[
            outcome(True),
            outcome(True),
            outcome(
                False,
                "warning",
                "expect_column_values_to_be_between",
                "evolution_annuelle_population est compris entre -15 et 15",
                unexpected_count=2,
                samples=["59350 Lille : 16.2"],
            ),
            outcome(False, rule="la somme de is_mel est comprise entre 95 et 95", observed=94),
        ],
        exports=[Export("population", PROJECT_ROOT / "data" / "outputs" / "population.csv", 1234)],
        warehouse=tmp_path / "opendata.duckdb",
        waiting={"caf_prestations": ["caf_prestations", "caf_rsa_types"]},
        blocked={"communes": "1 attente(s) critique(s) en échec"},
        docs=PROJECT_ROOT / "data" / "qualite" / "data-docs" / "index.html",
    )


def test_the_headline_counts_communes_checks_files_and_blocked_marts(summary):
    assert summary.headline() == (
        f"Rafraîchissement terminé : {summary.mel_count} communes de la MEL, 2/4 contrôles "
        "réussis, 1 fichier(s) écrit(s), 1 mart(s) bloqué(s)"
    )
    summary.blocked = {}
    assert summary.headline().endswith("1 fichier(s) écrit(s)")


def test_each_file_read_gives_its_millesime_size_and_sha256(summary):
    lines = summary.text().splitlines()
    for item in summary.fetched[:2]:
        raw = item.raw
        size = f"{raw.size:,}".replace(",", NNBSP)
        assert (
            f"  - {raw.source_id}, millésime {raw.millesime} : {item.status}, {size} octets, "
            f"sha256 {raw.sha256}"
        ) in lines
    assert "  - odt_indicateurs, indicateur part_immigres : en échec : HTTP 500" in lines


def test_a_discovered_millesime_is_listed_first(summary):
    lines = summary.text().splitlines()
    assert lines[:4] == [
        "Rafraîchissement annuel : résumé",
        "",
        "Millésimes découverts :",
        f"  - insee_comparateur : millésime {CENSUS} (registre)",
    ]


def test_loads_say_what_was_skipped_and_which_columns_were_ignored(summary):
    lines = summary.text().splitlines()
    assert f"  - cog_communes {COG} : 37{NNBSP}590 lignes (chargé)" in lines
    ignored = ", ".join(f"COL{i}" for i in range(8))
    assert (
        f"  - insee_comparateur {CENSUS} : 95 lignes (déjà chargé, non rechargé) ; "
        f"10 colonne(s) non déclarée(s) ignorée(s) : {ignored}, …"
    ) in lines


def test_quality_names_warnings_and_blocked_marts(summary):
    lines = summary.text().splitlines()
    assert (
        "Contrôles qualité : 2 réussi(s), 2 en échec dont 1 avertissement(s) non bloquant(s)"
        in lines
    )
    assert (
        "  - avertissement : [communes] evolution_annuelle_population est compris entre -15 et "
        "15 (expect_column_values_to_be_between) : 2 valeur(s) en écart ; exemples : "
        "59350 Lille : 16.2"
    ) in lines
    assert (
        "  - BLOQUÉ : communes (1 attente(s) critique(s) en échec) : ni exporté ni publié, "
        "l'entrepôt garde sa dernière version validée"
    ) in lines
    assert "Rapport qualité détaillé (Data Docs) : data/qualite/data-docs/index.html" in lines


def test_marts_waiting_for_data_name_the_sources_never_loaded(summary):
    lines = summary.text().splitlines()
    at = lines.index("Marts en attente de données (ni contrôlés ni exportés) :")
    assert lines[at + 1] == (
        "  - caf_prestations : vide ; parmi les sources qu'il lit, jamais chargées : "
        "caf_prestations, caf_rsa_types"
    )


def test_paths_are_shown_relative_to_the_project_when_inside_it(summary):
    lines = summary.text().splitlines()
    assert f"  - data/outputs/population.csv (1{NNBSP}234 lignes, territoire)" in lines
    assert f"Entrepôt : {summary.warehouse}" in lines  # outside the project: as is
    assert f"Communes de la MEL trouvées : {summary.mel_count} (EPCI {MEL}, COG {COG})" in lines
    assert (
        "Territoire de l'exécution : EPCI Métropole Européenne de Lille (200093201) : 95 commune(s)"
        in lines
    )


def test_markdown_and_text_say_the_same_with_their_own_bullets(summary):
    text, markdown = summary.text().splitlines(), summary.markdown().splitlines()
    assert markdown[0] == "# Rafraîchissement annuel : résumé"
    assert len(text) == len(markdown)
    for plain, marked in zip(text[1:], markdown[1:], strict=True):
        assert plain == marked or plain == "  - " + marked.removeprefix("- ")


def test_the_publication_plan_ends_the_summary(summary):
    summary.publication = PublicationReport("demo", "bac à sable", True, "l'entrepôt")
    lines = summary.text().splitlines()
    assert lines[-3:] == summary.publication.text().splitlines()
    assert lines[-4] == ""


def test_membership_is_read_from_the_communes_mart(warehouse):
    members = len(mel_members())
    assert mel_membership(warehouse) == (members, COG)


def test_summarize_takes_blocked_marts_and_docs_from_the_validation(warehouse, registry):
    settings = Settings.from_env({"OPENDATA_WAREHOUSE": str(warehouse)})
    validation = Validation(
        "essai",
        dt.datetime(2026, 11, 29, tzinfo=dt.UTC),
        [outcome(True)],
        blocked={"epci": "construit à partir du mart bloqué communes"},
        docs=Path("data/qualite/data-docs/index.html"),
    )
    built = summarize(settings, registry, [], [], {"marts.communes": 659}, validation, [])
    assert (built.epci, built.cog, built.blocked) == (MEL, COG, validation.blocked)
    assert built.docs == validation.docs and built.waiting == {}
    assert built.model_counts == {"marts.communes": 659}
    assert refresh_summary._shown(warehouse) == str(warehouse)
