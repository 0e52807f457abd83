"""The yearly refresh: national sources → raw → staging → marts → quality gate → CSV.

A mart that fails a critical expectation is kept back with everything built from it;
the others are exported and published, and the run then ends as failed, naming it.
"""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.publish import publish
from tasks.core.failure import reported_failure
from tasks.core.settings import Settings
from tasks.core.warehouse import candidate, locked
from tasks.publication.catalog import load_catalog
from tasks.quality.steps import check_quality, enforce_quality, record_quality, report_quality
from tasks.refresh.summary import Summary, summarize
from tasks.sources.registry import load_registry
from tasks.sources.steps import enforce_complete_fetch, fetch_source, load_sources
from tasks.transform.exports import check_writable
from tasks.transform.steps import (
    build_models,
    commit_exports,
    keep_validated_marts,
    loaded_sources,
    marts_awaiting_data,
    stage_exports,
)


@flow(name="yearly_refresh", log_prints=True)
def yearly_refresh(
    millesime: int | None = None,
    cog: int | None = None,
    territoire: str | None = None,
    sources: list[str] | None = None,
    perimetres: list[str] | None = None,
    env: Literal["demo", "prod"] = "demo",
    dry_run: bool = True,
    force: bool = False,
) -> Summary:
    """Rafraîchit l'entrepôt depuis les sources nationales, contrôle, exporte et publie.

    Args:
        millesime: millésime du recensement attendu pour les fichiers publiés par année
            (base-cc, comparateur) ; vide : le plus récent annoncé par l'INSEE, plus les
            millésimes antérieurs du registre. Les fichiers Melodi (série historique,
            populations légales) prennent toujours le dernier.
        cog: millésime du Code officiel géographique, de 2021 à 2026 (vide : le plus
            récent connu du registre).
        territoire: SIREN d'un EPCI (200093201 : la MEL) ou code INSEE d'une commune
            (59522) : ce qui est exporté (vide : la MEL). L'entrepôt couvre la France.
        sources: sources du registre à rafraîchir, par exemple insee_comparateur (vide : toutes).
        perimetres: périmètres à publier : mel et/ou le code d'une commune volontaire, par
            exemple 59522 (vide : tous ceux de catalog/publication.yaml).
        env: où publier : demo (bac à sable demo.data.gouv.fr) ou prod (www.data.gouv.fr).
        dry_run: simulation : écrire le plan de publication sans rien envoyer.
        force: republier fichiers et métadonnées même s'ils n'ont pas changé.
    """
    settings = Settings.from_env()
    # One lock from the build to the end of the publication: no other refresh in between.
    with reported_failure("echec-rafraichissement"), locked(settings.warehouse):
        check_writable(settings.outputs_dir)  # before the build, not once it is done
        registry, catalog = load_registry(), load_catalog()
        fetched = [
            item
            for source in registry.select(sources)
            for item in fetch_source(source, registry, settings, millesime, cog)
        ]
        with candidate(settings.warehouse) as path:
            loads = load_sources(path, registry, fetched, settings, territoire, cog)
            counts = build_models(path)
            waiting = marts_awaiting_data(path)
            published = catalog.published_keys(loaded_sources(path))
            validation = check_quality(path, published, settings.quality_docs_dir)
            record_quality(path, validation)
            keep_validated_marts(path, settings.warehouse, list(validation.blocked))
            staged = stage_exports(path, settings.outputs_dir, list(validation.blocked))
        exported = commit_exports(staged)
        report_quality(validation)
        summary = summarize(
            settings, registry, fetched, loads, counts, validation, exported, waiting
        )
        summary.publication = publish(
            env=env,
            dry_run=dry_run,
            perimetres=perimetres,
            force=force,
            outcomes=validation.outcomes,
        )
        create_markdown_artifact(key="resume-rafraichissement", markdown=summary.markdown())
        get_run_logger().info(
            "%s (détail : artefact « resume-rafraichissement »)", summary.headline()
        )
        # A blocked mart, or an indicator that could not be read, ends the run as failed,
        # once everything else has gone on.
        enforce_quality(validation)
        enforce_complete_fetch(fetched)
        return summary
