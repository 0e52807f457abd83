"""Publish to data.gouv.fr what changed in the marts, with complete metadata."""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.utilities.annotations import quote

from tasks.core.errors import ConfigurationError
from tasks.core.failure import reported_failure
from tasks.core.settings import Settings
from tasks.core.warehouse import locked
from tasks.publication.catalog import Catalog, Fiche, load_catalog
from tasks.publication.plan import PublicationReport
from tasks.publication.reconcile import DatasetPlan
from tasks.publication.steps import (
    PublicationRun,
    check_api_key,
    organisation_groups,
    plan_folder,
    publication_progress,
    publish_catalogue,
    publish_dataset,
    resolve_perimeters,
)
from tasks.quality.gate import Outcome
from tasks.quality.steps import check_quality
from tasks.sources.registry import load_registry
from tasks.transform.steps import loaded_sources, marts_awaiting_data


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
        datasets: fiches à publier, par exemple comparateur ou catalogue (vide : toutes,
            et le catalogue de chaque organisation).
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
            loaded = loaded_sources(settings.warehouse)
            if outcomes is None:
                published = catalog.published_keys(loaded)
                outcomes = check_quality(settings.warehouse, published).outcomes
            waiting = marts_awaiting_data(settings.warehouse)
            catalog, inside = resolve_perimeters(settings.warehouse, catalog)
            perimetres = perimetres or inside
            _check_perimeters(catalog, perimetres)
            run = PublicationRun(
                catalog, environment, registry, settings, outcomes, dry_run, force, loaded=loaded
            )
            chosen = [f for f in catalog.marts() if not datasets or f.name in datasets]
            with_catalogue = not datasets or "catalogue" in datasets
            try:
                plans = _publish_perimeters(run, chosen, waiting, perimetres, with_catalogue)
            finally:
                run.close()
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
            perimeter_names={code: catalog.perimetres[code].nom for code in perimetres},
            perimetres=perimetres,
        )
        report.write(plan_folder(settings))
        create_markdown_artifact(key=f"plan-publication-{env}", markdown=report.markdown())
        get_run_logger().info("%s", report.text())
        return report


def _check_perimeters(catalog: Catalog, perimetres: list[str]) -> None:
    unknown = [code for code in perimetres if code not in catalog.perimetres]
    if unknown:
        raise ConfigurationError(
            f"périmètre(s) inconnu(s) : {', '.join(unknown)}",
            where="catalog/publication.yaml, perimetres",
            action=f"choisissez parmi : {', '.join(catalog.perimetres)}, ou ajoutez l'entrée "
            "de la commune ou de l'EPCI",
        )


def _publish_perimeters(
    run: PublicationRun,
    fiches: list[Fiche],
    waiting: dict[str, list[str]],
    perimetres: list[str],
    with_catalogue: bool,
) -> list[DatasetPlan]:
    """Every fiche with data for every perimeter, organisation by organisation, each
    organisation's catalogue after its datasets."""

    def ready(fiche: Fiche, code: str) -> bool:
        return fiche.mart not in waiting and fiche.publishes_for(run.catalog.perimetres[code])

    catalog, plans = run.catalog, []
    groups = [
        (group, [(fiche, code) for code in group for fiche in fiches if ready(fiche, code)])
        for group in organisation_groups(catalog, perimetres, run.environment.name)
    ]
    catalogues = bool(catalog.catalogue()) and with_catalogue
    total = sum(len(datasets) + catalogues for _, datasets in groups)
    with publication_progress(run, total) as bar:
        for group, datasets in groups:
            own = []
            for fiche, code in datasets:
                # quote: Prefect does not walk the run's context for every dataset.
                own.append(publish_dataset(quote(run), fiche, code))
                bar.advance()
            if catalogues:
                own.append(publish_catalogue(quote(run), group[0], group[1:], quote(own)))
                bar.advance()
            plans += own
    return plans
