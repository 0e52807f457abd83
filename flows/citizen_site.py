"""The citizen site: for a commune of the MEL (or all of them), static pages of charts
with their numbers, rebuilt from the warehouse every year after the refresh.

The pages need neither a server nor the network: charts are SVG rendered at build time,
each with its table and its CSV; the folder can be copied onto the commune's website.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from tasks.citizen_site.data import open_warehouse
from tasks.citizen_site.pages import write_communes_index
from tasks.citizen_site.registry import load_sections
from tasks.citizen_site.steps import build_commune_site, choose_communes
from tasks.core.failure import reported_failure
from tasks.core.settings import Settings
from tasks.publication.catalog import load_catalog


@dataclass
class CommuneSite:
    nom: str
    index: Path
    sections: list[str]
    charts: int
    waiting: int


@dataclass
class SiteRun:
    out_dir: Path
    sites: list[CommuneSite]
    index: Path | None = None

    def text(self) -> str:
        lines = [
            f"Site citoyen de {site.nom} : {len(site.sections)} rubrique(s) "
            f"({', '.join(site.sections)}), {site.charts} graphique(s), "
            f"{site.waiting} en attente de données\n  Page d'accueil : {site.index}"
            for site in self.sites[:3]
        ]
        if len(self.sites) > 3:
            lines.append(f"… et {len(self.sites) - 3} autre(s) commune(s)")
        if self.index:
            lines.append(f"Liste des communes : {self.index}")
        return "\n".join(lines)


@flow(name="site-citoyen", log_prints=True)
def citizen_site(
    commune: str = "59522",
    all_mel: bool = False,
    out_dir: str | None = None,
    env: Literal["demo", "prod"] = "prod",
    banner: str | None = None,
) -> SiteRun:
    """Écrit le site citoyen d'une commune de la MEL (ou de toutes) à partir de l'entrepôt.

    Args:
        commune: code INSEE de la commune (par défaut 59522, Sailly-lez-Lannoy).
        all_mel: construire le site des 95 communes de la MEL (et une page qui les liste).
        out_dir: dossier de sortie ; vide : data/outputs/site (un sous-dossier par commune).
        env: la plateforme des liens vers les jeux de données : prod (www.data.gouv.fr)
            ou demo (demo.data.gouv.fr).
        banner: un avertissement affiché en haut de chaque page (données d'exemple…).
    """
    with reported_failure("echec-site-citoyen"):
        settings = Settings.from_env()
        out = Path(out_dir) if out_dir else settings.outputs_dir / "site"
        sections, catalog = load_sections(), load_catalog()
        generated = datetime.now(ZoneInfo("Europe/Paris"))
        run = SiteRun(out, [])
        with open_warehouse(settings.warehouse) as conn:
            communes = choose_communes(conn, commune, all_mel)
            for chosen in communes:
                index, views = build_commune_site(
                    conn, sections, chosen, catalog, env, out, generated, banner
                )
                run.sites.append(_summary(chosen.nom, index, views))
        if all_mel:
            run.index = write_communes_index(out, communes, generated)
        get_run_logger().info("%s", run.text())
        create_markdown_artifact(
            key="site-citoyen", markdown=run.text(), description="Site citoyen"
        )
        return run


def _summary(nom: str, index: Path, views) -> CommuneSite:
    return CommuneSite(
        nom=nom,
        index=index,
        sections=[view.section.titre for view in views],
        charts=sum(len(view.charts) for view in views),
        waiting=sum(len(view.waiting) for view in views),
    )
