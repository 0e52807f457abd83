"""What the report and the build say about identification when the Recherche
d'entreprises API could not be reached, and the regroupings they propose
(tasks/subventions/report.py, steps.py), on the sample document 2016.docx of
Sailly-lez-Lannoy (fictitious). The API error comes from a real client sent to a closed
loopback port; no Prefect flow runs (the tasks are called through `.fn()`)."""

from __future__ import annotations

import socket

import pytest

from tasks.core.errors import InvalidData, SourceUnavailable
from tasks.core.http import RetryPolicy
from tasks.subventions.beneficiaries import normalise
from tasks.subventions.identifiers import (
    NOT_SEARCHED,
    NOT_SEARCHED_TEXT,
    ApiUnreachable,
    EntreprisesClient,
    Identified,
    Unreachable,
)
from tasks.subventions.regroupings import propose
from tasks.subventions.report import Build
from tasks.subventions.steps import assemble, enforce_publishable
from tests.unit.conftest import SIRET_SAILLY, SUBSIDIES, sample_beneficiaries, sample_readings

DOCUMENT = "2016.docx"


def unreachable_error(tmp_path) -> ApiUnreachable:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    policy = RetryPolicy(timeout=2, attempts=2, backoff=0.01)
    source = EntreprisesClient(
        "https://api.invalid/search", closed, tmp_path / "cache", policy=policy
    )
    with pytest.raises(ApiUnreachable) as error:
        source.search("GRS", "59522")
    return error.value


def groups(origine: str, known: bool) -> list[Identified]:
    """The beneficiaries of 2016.docx, identified as the sample's answers say (known) or
    not at all."""
    found: dict[str, Identified] = {}
    for spelling, who in sample_beneficiaries().items():
        siret, rna = (who.siret, who.rna) if known else (None, None)
        candidats = [] if known else [NOT_SEARCHED_TEXT]
        item = found.setdefault(
            who.nom, Identified(normalise(who.nom), who.nom, siret, rna, origine, candidats)
        )
        item.graphies[spelling] = [2016]
    return list(found.values())


def build(config, tmp_path, found, siret=SIRET_SAILLY, **options) -> Build:
    return assemble.fn(
        paths=[SUBSIDIES / "documents" / DOCUMENT],
        readings=sample_readings(DOCUMENT),
        found=found,
        siret_attribuant=siret,
        commune=config.commune("59522"),
        config=config,
        out=tmp_path,
        issues=[],
        notes=[],
        **options,
    )


def test_an_unreachable_api_gives_a_draft_a_report_and_a_french_refusal(subsidies_config, tmp_path):
    found = groups(NOT_SEARCHED, known=False)
    down = Unreachable(unreachable_error(tmp_path), [item.nom_retenu for item in found], True)
    draft = build(subsidies_config, tmp_path, found, siret=None, unreachable=down)
    assert not draft.publiable and draft.csv_path.name.startswith("NON-PUBLIABLE_")
    assert draft.csv_path.is_file()
    assert draft.headline().endswith("dont l'API Recherche d'entreprises injoignable)")
    report = draft.markdown()
    first = report.split("## À corriger ou à compléter avant publication\n\n- ")[1].splitlines()[0]
    assert first.startswith("API Recherche d'entreprises injoignable (127.0.0.1:")
    count = f"{len(found)} bénéficiaire(s) non recherché(s), ainsi que le SIRET de la commune"
    assert count in first
    assert f"SIRET INCONNU ({NOT_SEARCHED_TEXT})" in report
    # nothing to type for an identifier that was not searched: run again later
    assert f"(lu dans : {DOCUMENT}, tableau 1, ligne 3 ; {NOT_SEARCHED_TEXT})" in report
    assert "à saisir dans identifiants.csv" not in report
    assert "`idAttribuant` dans catalog/subventions.yaml" in report
    assert report.count(
        f"| NON RECHERCHÉ : API injoignable, relancez plus tard | {NOT_SEARCHED_TEXT} |"
    ) == len(found)

    with pytest.raises(SourceUnavailable) as refused:
        enforce_publishable.fn(draft)
    message = refused.value.message
    assert message.startswith(
        "Source injoignable ou en erreur : API Recherche d'entreprises injoignable ("
    )
    assert "(connexion impossible)" in message and "NON publiable" in message
    assert "  Où : API Recherche d'entreprises (127.0.0.1:" in message
    assert f"rapport : {tmp_path / 'rapport.md'} ; brouillon : {draft.csv_path}" in message
    assert "  Que faire : relancez la même commande plus tard" in message
    assert "vos réponses dans identifiants.csv et decisions.csv sont gardées" in message
    assert "Rien n'a été chargé ni publié" in message


def test_without_the_api_problem_the_usual_refusal_and_no_mark(subsidies_config, tmp_path):
    found = groups("api", known=True)
    ready = build(subsidies_config, tmp_path, found)
    assert ready.publiable
    assert "NON RECHERCHÉ" not in ready.markdown() and NOT_SEARCHED_TEXT not in ready.markdown()
    unfit = build(subsidies_config, tmp_path, found, siret=None)
    with pytest.raises(InvalidData):
        enforce_publishable.fn(unfit)
    assert "SIRET INCONNU (voir la validation)" in unfit.markdown()


def test_proposed_regroupings_are_listed_with_how_to_confirm(subsidies_config, tmp_path):
    found = groups("api", known=True)
    foot = Identified("foot", "Foot", None, None, "introuvable", [], {"Foot": [2016]})
    wide = [
        Identified(normalise(n), n, None, None, "introuvable", [], {n: [2016]})
        for n in ("Judo", "Judo club", "Judo loisirs", "École de judo", "Judo en salle")
    ]
    us = next(item for item in found if item.nom_retenu == "US Sailly Football")
    us.graphies["US Sailly Foot"] = [2016]  # the officer regrouped it
    proposals = propose([*found, foot, *wide])
    report = build(subsidies_config, tmp_path, found, proposals=proposals).markdown()
    section = report.split("## Regroupements possibles (à confirmer, jamais appliqués d'office)")[1]
    section = section.split("\n## ")[0]
    assert (
        "| « Foot » (2016) | « US Sailly Football » (2016) ; « U.S. Sailly football » (2016) ; "
        "« US Sailly Foot » (2016) | nom contenu dans l'autre | `union sportive sailly football` |"
    ) in section
    assert (
        "« Judo » figure dans 4 autres noms (« École de judo », « Judo club », « Judo en salle »…)"
        in section
    )
    assert "recopiez la clé de la colonne `groupe_propose` dans la colonne `groupe`" in section
    assert "écrivez « non » dans `groupe_propose`" in section
    empty = build(subsidies_config, tmp_path, found).markdown()
    assert "Aucune proposition." in empty and "recopiez la clé" not in empty
