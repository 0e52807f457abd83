"""The Prefect tasks of the refresh: thin, typed wrappers around the modules of `tasks/`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks.core.settings import Settings
from tasks.publication.catalog import load_catalog
from tasks.quality import gate as quality
from tasks.quality import history as quality_report
from tasks.sources import discovery, extract, load
from tasks.sources.client import SourceClient
from tasks.sources.raw_store import RawStore
from tasks.sources.registry import Registry, Source
from tasks.transform import exports, models
from tasks.transform.warehouse import connect, keep_validated

# Idempotence comes from the raw manifest and meta.chargements, not from Prefect's cache.
_TASK = {"cache_policy": NO_CACHE}


@task(name="telecharger-source", **_TASK)
def fetch_source(
    source: Source, registry: Registry, settings: Settings, millesime: int | None, cog: int | None
) -> list[extract.Fetched]:
    client = SourceClient(settings)
    store = RawStore(settings.raw_dir)
    wanted = extract.Millesimes(recensement=millesime, cog=cog, today=dt.date.today())
    catalogues = discovery.Catalogues(client, registry)
    return extract.fetch(client, store, source, registry.territoire, wanted, catalogues)


@task(name="charger-sources", **_TASK)
def load_sources(
    candidate: Path, registry: Registry, fetched: list[extract.Fetched], settings: Settings
) -> list[load.LoadReport]:
    store = RawStore(settings.raw_dir)
    with connect(candidate) as conn:
        load.prepare(conn, registry)
        reports = []

        # One load per source, or per source and millésime for the census files (a
        # per-département source must have a single millésime across its files).
        def group(item: extract.Fetched) -> tuple[str, int | None]:
            return item.source_id, item.discovered.millesime if item.discovered else None

        read = [item for item in fetched if item.raw is not None]  # failed indicators: none
        for key in dict.fromkeys(map(group, read)):
            files = [(f.raw, store.file(f.raw)) for f in read if group(f) == key]
            reports.append(load.load_source(conn, registry.sources[key[0]], files))
        discovery.record(conn, [item.discovered for item in fetched if item.discovered])
        return reports


@task(name="construire-modeles", **_TASK)
def build_models(candidate: Path) -> dict[str, int]:
    with connect(candidate) as conn:
        return models.build(conn, models.discover())


@task(name="controler-qualite", **_TASK)
def check_quality(warehouse: Path, docs_folder: Path | None = None) -> quality.Validation:
    """Validate every mart of a warehouse (the candidate, or the one in service), and say
    which marts are blocked.

    A mart still waiting for its first data (facultative sources never loaded) is not
    validated: `awaiting_data` names it in the summary."""
    every = models.discover()
    marts = [model for model in every if model.layer == "marts"]
    quality.suites_for(marts)  # every mart has a valid suite, even one waiting for data
    published = {fiche.mart: fiche.cle for fiche in load_catalog().fiches}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        waiting = models.awaiting_data(conn, every)
        ready = [mart for mart in marts if mart.name not in waiting]
        validation = quality.validate(
            conn, quality.suites_for(ready), published, _run_id(), docs_folder
        )
    validation.blocked = quality.blocked_marts(validation.outcomes, every)
    return validation


@task(name="historiser-controles", **_TASK)
def record_quality(candidate: Path, validation: quality.Validation) -> None:
    with connect(candidate) as conn:
        quality_report.record(conn, validation)


@task(name="garder-marts-valides", **_TASK)
def keep_validated_marts(candidate: Path, warehouse: Path, validation: quality.Validation) -> None:
    keep_validated(candidate, warehouse, list(validation.blocked))


@task(name="reperer-marts-sans-donnees", **_TASK)
def marts_awaiting_data(warehouse: Path) -> dict[str, list[str]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return models.awaiting_data(conn, models.discover())


@task(name="rapport-qualite", **_TASK)
def report_quality(validation: quality.Validation) -> None:
    """The validation as a Prefect artifact: per mart, then each failure with samples."""
    create_markdown_artifact(
        key="controle-qualite",
        markdown=quality_report.markdown(validation),
        description=f"{len(validation.blocked)} mart(s) bloqué(s)",
    )


@task(name="appliquer-barriere-qualite", **_TASK)
def enforce_quality(validation: quality.Validation) -> None:
    quality.enforce(validation)


@task(name="signaler-indicateurs-en-echec", **_TASK)
def enforce_complete_fetch(fetched: list[extract.Fetched]) -> None:
    extract.enforce_complete(fetched)


@task(name="preparer-exports", **_TASK)
def stage_exports(
    candidate: Path, folder: Path, validation: quality.Validation
) -> list[exports.Export]:
    """The validated marts only: a blocked mart's file keeps its last validated version."""
    every = models.discover()
    with connect(candidate) as conn:
        waiting = models.awaiting_data(conn, every)
        marts = [
            m.name
            for m in every
            if m.layer == "marts" and m.name not in waiting and m.name not in validation.blocked
        ]
        return exports.stage(conn, marts, folder)


@task(name="publier-exports", **_TASK)
def commit_exports(staged: list[exports.Export]) -> list[exports.Export]:
    return exports.commit(staged)


def _run_id() -> str | None:
    from prefect.runtime import flow_run

    return flow_run.id
