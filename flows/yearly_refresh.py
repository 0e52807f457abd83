"""The yearly refresh: national sources → raw → staging → marts → quality gate → CSV."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.publish import publish
from tasks.pipeline import (
    build_models,
    check_quality,
    commit_exports,
    enforce_quality,
    fetch_source,
    load_sources,
    stage_exports,
)
from tasks.registry import load_registry
from tasks.report import Summary, mel_membership
from tasks.settings import Settings
from tasks.warehouse import candidate


@flow(name="yearly_refresh", log_prints=True)
def yearly_refresh(
    millesime: int | None = None,
    cog: int | None = None,
    sources: list[str] | None = None,
    env: str = "demo",
    dry_run: bool = True,
) -> Summary:
    """Rafraîchit l'entrepôt depuis les sources nationales, contrôle, puis exporte.

    Args:
        millesime: millésime du recensement attendu (vide : le plus récent publié).
        cog: millésime du Code officiel géographique (vide : année en cours).
        sources: identifiants du registre à rafraîchir (vide : toutes les sources).
        env: environnement de publication sur data.gouv.fr : demo (bac à sable) ou prod.
        dry_run: simulation de la publication : écrit le plan sans rien envoyer.
    """
    settings = Settings.from_env()
    registry = load_registry()
    fetched = [
        item
        for source in registry.select(sources)
        for item in fetch_source(source, registry, settings, millesime, cog)
    ]
    with candidate(settings.warehouse) as path:
        loads = load_sources(path, registry, fetched, settings)
        counts = build_models(path)
        outcomes = check_quality(path)
        enforce_quality(outcomes)
        staged = stage_exports(path, settings.outputs_dir)
    exported = commit_exports(staged)
    mel_count, cog_in_use = mel_membership(settings.warehouse)
    summary = Summary(
        fetched,
        loads,
        mel_count,
        cog_in_use,
        registry.territoire.epci,
        outcomes,
        exported,
        settings.warehouse,
        counts,
    )
    summary.publication = publish(env=env, dry_run=dry_run, outcomes=outcomes)
    create_markdown_artifact(key="resume-rafraichissement", markdown=summary.markdown())
    get_run_logger().info("%s (détail : artefact « resume-rafraichissement »)", summary.headline())
    return summary
