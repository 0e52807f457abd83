"""The Prefect tasks of the sources stage: fetch each source, load the raw files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect.runtime import task_run

from tasks.core.settings import Settings
from tasks.core.steps import step
from tasks.core.warehouse import connect
from tasks.sources import discovery, extract, load
from tasks.sources.client import SourceClient
from tasks.sources.raw_store import RawStore
from tasks.sources.registry import Registry, Source


def _fetch_name() -> str:
    """`telecharger-insee_comparateur-2022` in the UI; the newest millésime when unset."""
    parameters = task_run.parameters
    millesime = parameters.get("millesime")
    return f"telecharger-{parameters['source'].id}" + (f"-{millesime}" if millesime else "")


@step("telecharger-source", run_name=_fetch_name)
def fetch_source(
    source: Source, registry: Registry, settings: Settings, millesime: int | None, cog: int | None
) -> list[extract.Fetched]:
    client = SourceClient(settings)
    store = RawStore(settings.raw_dir)
    wanted = extract.Millesimes(recensement=millesime, cog=cog, today=dt.date.today())
    catalogues = discovery.Catalogues(client, registry)
    return extract.fetch(client, store, source, wanted, catalogues)


@step("charger-sources")
def load_sources(
    candidate: Path,
    registry: Registry,
    fetched: list[extract.Fetched],
    settings: Settings,
    territoire: str | None = None,
    cog: int | None = None,
) -> list[load.LoadReport]:
    """Load every file fetched, then write the run's COG and territory (ref.execution)."""
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
        cog = cog or next(
            (
                f.discovered.millesime
                for f in read
                if registry.sources[f.source_id].referentiel
                and not registry.sources[f.source_id].millesime.cumulatif
            ),
            None,
        )
        load.record_execution(conn, registry, territoire, cog)
        return reports


@step("signaler-indicateurs-en-echec")
def enforce_complete_fetch(fetched: list[extract.Fetched]) -> None:
    extract.enforce_complete(fetched)
