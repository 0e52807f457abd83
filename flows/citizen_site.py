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

from tasks.citizen_site.data import mel_communes, open_warehouse, warehouse_state
from tasks.citizen_site.pages import write_communes_index
from tasks.citizen_site.steps import CommuneSite, batches, build_in_batches, choose_communes
from tasks.core.errors import InvalidData
from tasks.core.failure import reported_failure
from tasks.core.runners import task_runner
from tasks.core.settings import Settings


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
    communes: list[str] | None = None,
    all_mel: bool = False,
    out_dir: str | None = None,
    env: Literal["demo", "prod"] = "prod",
    banner: str | None = None,
    dask: str | None = None,
    communes_par_tache: int = 25,
) -> SiteRun:
    """Écrit le site citoyen d'une commune de la MEL (ou de toutes) à partir de l'entrepôt.

    Args:
        commune: code INSEE de la commune (par défaut 59522, Sailly-lez-Lannoy).
        communes: plusieurs communes de la MEL, par leurs codes INSEE (prime sur commune).
        all_mel: construire le site des 95 communes de la MEL (et une page qui les liste).
        out_dir: dossier de sortie ; vide : data/outputs/site (un sous-dossier par commune).
        env: la plateforme des liens vers les jeux de données : prod (www.data.gouv.fr)
            ou demo (demo.data.gouv.fr).
        banner: un avertissement affiché en haut de chaque page (données d'exemple…).
        dask: où construire les pages : l'adresse d'un cluster Dask (tcp://hôte:8786),
            ou « local » pour un cluster des cœurs de cette machine ; vide : OPENDATA_DASK,
            sinon l'exécution par défaut de Prefect.
        communes_par_tache: nombre de communes construites par tâche (une tâche par lot).
    """
    with reported_failure("echec-site-citoyen"):
        settings = Settings.from_env()
        out = Path(out_dir) if out_dir else settings.outputs_dir / "site"
        generated = datetime.now(ZoneInfo("Europe/Paris"))
        with open_warehouse(settings.warehouse) as conn:
            chosen = choose_communes(conn, communes or [commune], all_mel)
            count, etat = len(mel_communes(conn)), warehouse_state(conn)
        built = build_in_batches(
            task_runner(dask or settings.dask),
            batches(chosen, communes_par_tache),
            warehouse=settings.warehouse,
            out_dir=out,
            env=env,
            generated=generated,
            banner=banner,
            communes_mel=count,
        )
        _check_same_state(etat, built, settings.warehouse)
        run = SiteRun(out, [site for lot in built for site in lot.sites])
        if all_mel:
            run.index = write_communes_index(out, chosen, generated)
        get_run_logger().info("%s", run.text())
        create_markdown_artifact(
            key="site-citoyen", markdown=run.text(), description="Site citoyen"
        )
        return run


def _check_same_state(etat: str, built, warehouse: Path) -> None:
    if any(lot.etat != etat for lot in built):
        raise InvalidData(
            "L'entrepôt a changé pendant la construction du site (un rafraîchissement "
            "s'est terminé entre-temps) : des pages montreraient deux états différents",
            where=str(warehouse),
            action="relancez la construction du site : elle lira le nouvel état partout",
        )
