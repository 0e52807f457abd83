"""The citizen site's pages: an index and one page per section, written from the
charts' data with the templates of site/templates (HTML and CSS only, no script)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import jinja2

from tasks.citizen_site.charts import describe, render_svg
from tasks.citizen_site.data import MASKED, ChartData, Commune
from tasks.citizen_site.registry import Section, site_dir
from tasks.core.text import french_date
from tasks.publication.catalog import Catalog


@dataclass(frozen=True)
class Dataset:
    titre: str
    url: str | None


@dataclass(frozen=True)
class ChartView:
    data: ChartData
    svg: str
    csv_name: str
    description: str
    dataset: Dataset | None

    @property
    def chart(self):
        return self.data.chart

    def rows(self) -> list[dict]:
        """The table: one row per category, one cell per territory."""
        return [
            {
                "categorie": categorie,
                "cells": [
                    {
                        "territoire": territoire,
                        "point": self.data.point(territoire, categorie),
                        "text": self.data.label(self.data.point(territoire, categorie)),
                    }
                    for territoire in self.data.territoires
                ],
            }
            for categorie in self.data.categories
        ]


@dataclass(frozen=True)
class SectionView:
    section: Section
    charts: list[ChartView]
    waiting: list[ChartData] = field(default_factory=list)

    @property
    def file_name(self) -> str:
        return f"{self.section.id}.html"

    @property
    def has_masked(self) -> bool:
        return any(view.data.masked for view in self.charts)


def view_chart(data: ChartData, dataset: Dataset | None) -> ChartView:
    return ChartView(
        data=data,
        svg=render_svg(data),
        csv_name=f"donnees/{data.chart.id}.csv",
        description=describe(data),
        dataset=dataset,
    )


def dataset_for(catalog: Catalog, fiche_name: str | None, commune: Commune, env: str):
    """The data.gouv.fr dataset holding a chart's numbers: the commune's own when it
    publishes one, else the MEL's; url is None while it is not published."""
    fiche = next((f for f in catalog.fiches if f.name == fiche_name), None)
    if fiche is None:
        return None
    own = catalog.perimetres.get(commune.code)
    perimetre = commune.code if own and fiche.publishes_for(own) else "mel"
    if perimetre not in catalog.perimetres or not fiche.publishes_for(
        catalog.perimetres[perimetre]
    ):
        return None
    titre = fiche.titre.format(perimetre=catalog.perimetres[perimetre].nom or commune.nom)
    dataset_id = fiche.dataset_id(perimetre, env)
    if not dataset_id:
        return Dataset(titre, None)
    site = catalog.environment(env).api.removesuffix("/").removesuffix("/api/1")
    return Dataset(titre, f"{site}/datasets/{dataset_id}/")


def millesimes(sections: list[SectionView]) -> list[str]:
    """« recensement 2022 »…: every source line of the site, once."""
    lines = [
        view.data.source_line().removeprefix("Source : ")
        for section in sections
        for view in section.charts
    ]
    return list(dict.fromkeys(lines))


def write_site(
    out_dir: Path,
    commune: Commune,
    sections: list[SectionView],
    generated: datetime,
    banner: str | None = None,
    communes_mel: int = 95,
) -> list[Path]:
    """Write the commune's pages into out_dir (replacing a previous build) and return
    the files written."""
    staging = out_dir.with_name(out_dir.name + ".en-cours")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "donnees").mkdir(parents=True)
    _copy_static(staging)
    context = {
        "commune": commune,
        "sections": sections,
        "generated": french_date(generated),
        "generated_iso": generated.isoformat(timespec="minutes"),
        "millesimes": millesimes(sections),
        "banner": banner,
        "masked_label": MASKED,
        "communes_mel": communes_mel,
    }
    templates = _templates()
    (staging / "index.html").write_text(
        templates.get_template("index.html.j2").render(**context, current=None), encoding="utf-8"
    )
    for section in sections:
        page = templates.get_template("section.html.j2").render(**context, current=section)
        (staging / section.file_name).write_text(page, encoding="utf-8")
        for view in section.charts:
            (staging / view.csv_name).write_text(view.data.csv_text(), encoding="utf-8-sig")
    # Swap in the complete build only: a failure above leaves the previous site whole,
    # and the old folder is moved aside before the new one takes its name.
    previous = out_dir.with_name(out_dir.name + ".precedent")
    shutil.rmtree(previous, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(previous)
    staging.rename(out_dir)
    shutil.rmtree(previous, ignore_errors=True)
    return sorted(out_dir.rglob("*.*"))


def write_communes_index(out_dir: Path, communes: list[Commune], generated: datetime) -> Path:
    page = (
        _templates()
        .get_template("communes.html.j2")
        .render(communes=communes, generated=french_date(generated))
    )
    _copy_static(out_dir)
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def _copy_static(folder: Path) -> None:
    for name in ("site.css", "favicon.svg"):
        shutil.copyfile(site_dir() / "static" / name, folder / name)


@cache  # compiled once per process: the same templates for every commune
def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(site_dir() / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment
