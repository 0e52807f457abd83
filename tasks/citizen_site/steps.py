"""The Prefect tasks of the citizen site flow: thin wrappers around tasks/citizen_site/.

The pages are built in batches of communes, one task per batch, so that the batches can
run side by side on a task runner (tasks/core/runners.py), Dask included: a task's
arguments are plain values and it opens the warehouse itself, read only. The progress
(tasks/core/progress.py) is kept by the flow's process as the batches finish, never by
the workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
from prefect.task_runners import TaskRunner
from prefect.utilities.annotations import unmapped

from tasks.citizen_site.data import (
    ChartData,
    Commune,
    find_commune,
    mel_communes,
    open_warehouse,
    read_charts,
    warehouse_state,
)
from tasks.citizen_site.pages import SectionView, dataset_for, view_chart, write_site
from tasks.citizen_site.registry import Section, load_sections
from tasks.core.progress import progress
from tasks.core.runners import run_map
from tasks.core.steps import step
from tasks.publication.catalog import Catalog, load_catalog


@dataclass(frozen=True)
class CommuneSite:
    """What the flow reports of one commune's site."""

    code: str
    nom: str
    index: Path
    sections: list[str]
    charts: int
    waiting: int


@dataclass(frozen=True)
class SiteBatch:
    """The sites of a batch of communes, and the state of the warehouse they show."""

    etat: str
    sites: list[CommuneSite]


@step("choisir-communes")
def choose_communes(
    conn: duckdb.DuckDBPyConnection, codes: list[str], all_mel: bool
) -> list[Commune]:
    if all_mel:
        return mel_communes(conn)
    return [find_commune(conn, code) for code in dict.fromkeys(codes)]


def batches(communes: list[Commune], size: int) -> list[list[Commune]]:
    """The communes in batches of `size` (at least one commune each), in order."""
    size = max(1, size)
    return [communes[i : i + size] for i in range(0, len(communes), size)]


def build_in_batches(runner: TaskRunner, lots: list[list[Commune]], **shared) -> list[SiteBatch]:
    """`build_sites` of every batch on `runner`, with the `shared` arguments (results in the
    order of the batches, the first failed batch's error raised), the progress advanced
    in this process as each batch finishes."""
    parameters = {"communes": lots, **{name: unmapped(value) for name, value in shared.items()}}
    sizes = [len(lot) for lot in lots]
    with progress(
        "Construction du site citoyen", sum(sizes), unit="communes", key="progression-site-citoyen"
    ) as bar:
        return run_map(runner, build_sites, parameters, on_done=lambda i: bar.advance(sizes[i]))


@step("construire-sites", run_name="site-{communes[0].code}-et-suivantes")
def build_sites(
    warehouse: Path,
    communes: list[Commune],
    out_dir: Path,
    env: str,
    generated: datetime,
    banner: str | None,
    communes_mel: int,
) -> SiteBatch:
    """The pages of a batch of communes, from one read-only connection of its own: each
    chart's query runs once for the whole batch."""
    sections, catalog = load_sections(), load_catalog()
    with open_warehouse(warehouse) as conn:
        data = {
            chart.id: read_charts(conn, chart, communes)
            for section in sections
            for chart in section.charts
        }
        sites = [
            build_commune_site(
                sections, data, commune, catalog, env, out_dir, generated, banner, communes_mel
            )
            for commune in communes
        ]
        return SiteBatch(warehouse_state(conn), sites)


def build_commune_site(
    sections: list[Section],
    data: dict[str, dict[str, ChartData]],
    commune: Commune,
    catalog: Catalog,
    env: str,
    out_dir: Path,
    generated: datetime,
    banner: str | None,
    communes_mel: int,
) -> CommuneSite:
    views = [v for s in sections if (v := _section_view(s, data, commune, catalog, env))]
    write_site(out_dir / commune.code, commune, views, generated, banner, communes_mel)
    return CommuneSite(
        code=commune.code,
        nom=commune.nom,
        index=out_dir / commune.code / "index.html",
        sections=[view.section.titre for view in views],
        charts=sum(len(view.charts) for view in views),
        waiting=sum(len(view.waiting) for view in views),
    )


def _section_view(section: Section, data, commune: Commune, catalog: Catalog, env: str):
    charts, waiting = [], []
    for chart in section.charts:
        numbers = data[chart.id][commune.code]
        if not numbers.has_data:
            waiting.append(numbers)
            continue
        charts.append(view_chart(numbers, dataset_for(catalog, chart.fiche, commune, env)))
    if section.facultative and not charts:
        return None  # e.g. no subsidies published by this commune: no empty tab
    return SectionView(section, charts, waiting)
