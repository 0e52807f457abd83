"""Publish to data.gouv.fr what changed in the marts, with complete metadata."""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from tasks.core.errors import ConfigurationError
from tasks.core.failure import reported_failure
from tasks.core.settings import Settings
from tasks.core.warehouse import locked
from tasks.publication.catalog import load_catalog
from tasks.publication.plan import PublicationReport
from tasks.publication.steps import (
    PublicationRun,
    check_api_key,
    perimeters_in_territory,
    plan_folder,
    publish_dataset,
)
from tasks.quality.gate import Outcome
from tasks.quality.steps import check_quality
from tasks.sources.registry import load_registry
from tasks.transform.steps import marts_awaiting_data


@flow(name="publish")
def publish(
    env: Literal["demo", "prod"] = "demo",
    dry_run: bool = True,
    datasets: list[str] | None = None,
    perimetres: list[str] | None = None,
    force: bool = False,
    outcomes: list[Outcome] | None = None,
) -> PublicationReport:
    """Publie sur data.gouv.fr les jeux dont les données ont changé.

    Args:
        env: où publier : demo (bac à sable demo.data.gouv.fr) ou prod (www.data.gouv.fr).
        dry_run: simulation : écrire le plan sans rien envoyer (par défaut).
        datasets: fiches à publier, par exemple comparateur (vide : toutes).
        perimetres: périmètres à publier : mel et/ou le code d'une commune volontaire
            (vide : ceux de catalog/publication.yaml contenus dans le territoire du
            dernier rafraîchissement, la MEL par défaut).
        force: republier fichiers et métadonnées même s'ils n'ont pas changé.
        outcomes: résultats des contrôles qualité de ce rafraîchissement (vide : recalculés).
    """
    with reported_failure("echec-publication"):
        settings = Settings.from_env()
        catalog, registry = load_catalog(), load_registry()
        environment = catalog.environment(env)
        unknown = sorted(set(datasets or []) - {fiche.name for fiche in catalog.fiches})
        if unknown:
            raise ConfigurationError(
                f"fiche(s) inconnue(s) : {', '.join(unknown)}",
                where="catalog/fiches/",
                action=f"choisissez parmi : {', '.join(f.name for f in catalog.fiches)}",
            )
        has_key = check_api_key(environment, dry_run)
        with locked(settings.warehouse):
            if outcomes is None:
                outcomes = check_quality(settings.warehouse, catalog.published_keys()).outcomes
            waiting = marts_awaiting_data(settings.warehouse)
            if not perimetres:
                perimetres = perimeters_in_territory(settings.warehouse, catalog)
            chosen = [f for f in catalog.fiches if not datasets or f.name in datasets]
            run = PublicationRun(catalog, environment, registry, settings, outcomes, dry_run, force)
            plans = [
                publish_dataset(run, fiche, code)
                for fiche in chosen
                if fiche.mart not in waiting
                for code in fiche.perimetres
                if code in perimetres
            ]
        report = PublicationReport(
            env=env,
            site=environment.nom,
            dry_run=dry_run or not has_key,
            baseline=(
                f"l'état actuel de {environment.nom}"
                if has_key
                else "la dernière publication enregistrée dans l'entrepôt (aucune clé d'API : "
                "le site n'est pas interrogé)"
            ),
            datasets=plans,
            waiting=[fiche.name for fiche in chosen if fiche.mart in waiting],
            perimetres=perimetres,
        )
        report.write(plan_folder(settings))
        create_markdown_artifact(key=f"plan-publication-{env}", markdown=report.markdown())
        get_run_logger().info("%s", report.text())
        return report
