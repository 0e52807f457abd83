"""The Prefect tasks of the citizen site flow: thin wrappers around tasks/citizen_site/."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from tasks.citizen_site.data import Commune, find_commune, mel_communes, read_chart
from tasks.citizen_site.pages import SectionView, dataset_for, view_chart, write_site
from tasks.citizen_site.registry import Section
from tasks.core.steps import step
from tasks.publication.catalog import Catalog


@step("choisir-communes")
def choose_communes(conn: duckdb.DuckDBPyConnection, code: str, all_mel: bool) -> list[Commune]:
    return mel_communes(conn) if all_mel else [find_commune(conn, code)]


@step("construire-site-commune", run_name="site-{commune.code}")
def build_commune_site(
    conn: duckdb.DuckDBPyConnection,
    sections: list[Section],
    commune: Commune,
    catalog: Catalog,
    env: str,
    out_dir: Path,
    generated: datetime,
    banner: str | None,
) -> tuple[Path, list[SectionView]]:
    views = [v for s in sections if (v := _section_view(conn, s, commune, catalog, env))]
    count = len(mel_communes(conn))
    write_site(out_dir / commune.code, commune, views, generated, banner, communes_mel=count)
    return out_dir / commune.code / "index.html", views


def _section_view(conn, section: Section, commune: Commune, catalog: Catalog, env: str):
    charts, waiting = [], []
    for chart in section.charts:
        data = read_chart(conn, chart, commune)
        if not data.has_data:
            waiting.append(data)
            continue
        charts.append(view_chart(data, dataset_for(catalog, chart.fiche, commune, env)))
    if section.facultative and not charts:
        return None  # e.g. no subsidies published by this commune: no empty tab
    return SectionView(section, charts, waiting)
