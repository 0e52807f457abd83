"""The citizen site's declarative registry: its sections and their charts
(site/graphiques.yaml), each chart reading one query of warehouse/site/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from tasks.core.errors import ConfigurationError
from tasks.core.settings import PROJECT_ROOT

CHART_TYPES = ("barres", "colonnes", "courbe")
SOURCE_PLACEHOLDERS = ("millesime", "millesime_precedent", "millesime_debut", "periode", "commune")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED = ("id", "titre", "phrase", "unite", "type", "source")


def site_dir() -> Path:
    return PROJECT_ROOT / "site"


def queries_dir() -> Path:
    return PROJECT_ROOT / "warehouse" / "site"


@dataclass(frozen=True)
class Chart:
    id: str
    titre: str
    phrase: str
    unite: str
    type: str
    source: str
    decimales: int = 0
    fiche: str | None = None
    note: str | None = None
    categorie: str = "Catégorie"

    @property
    def query_path(self) -> Path:
        return queries_dir() / "graphiques" / f"{self.id}.sql"


@dataclass(frozen=True)
class Section:
    id: str
    titre: str
    intro: str
    charts: tuple[Chart, ...]
    facultative: bool = False


def load_sections(path: Path | None = None) -> list[Section]:
    path = path or site_dir() / "graphiques.yaml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(
            f"Registre du site illisible : {error}",
            where=str(path),
            action="corrigez le fichier YAML (voir le modèle en tête du fichier)",
        ) from error
    sections = [_section(entry, path) for entry in document.get("rubriques") or []]
    if not sections:
        raise ConfigurationError(
            "Le registre du site ne déclare aucune rubrique",
            where=str(path),
            action="ajoutez au moins une entrée sous « rubriques »",
        )
    _check_unique([chart.id for section in sections for chart in section.charts], path)
    return sections


def _section(entry: dict, path: Path) -> Section:
    charts = tuple(_chart(item, path) for item in entry.get("graphiques") or [])
    missing = [key for key in ("id", "titre", "intro") if not entry.get(key)]
    if missing or not charts:
        raise ConfigurationError(
            f"Rubrique « {entry.get('id', '?')} » incomplète : "
            + (f"champ(s) manquant(s) {', '.join(missing)}" if missing else "aucun graphique"),
            where=str(path),
            action="complétez la rubrique (id, titre, intro, graphiques)",
        )
    return Section(
        id=entry["id"],
        titre=entry["titre"],
        intro=entry["intro"].strip(),
        charts=charts,
        facultative=bool(entry.get("facultative", False)),
    )


def _chart(item: dict, path: Path) -> Chart:
    missing = [key for key in _REQUIRED if item.get(key) in (None, "")]
    if missing:
        raise ConfigurationError(
            f"Graphique « {item.get('id', '?')} » incomplet : champ(s) manquant(s) "
            + ", ".join(missing),
            where=str(path),
            action="complétez le graphique ; chaque champ est décrit en tête du fichier",
        )
    chart = Chart(
        id=item["id"],
        titre=item["titre"],
        phrase=" ".join(item["phrase"].split()),
        unite=item["unite"],
        type=item["type"],
        source=item["source"],
        decimales=int(item.get("decimales", 0)),
        fiche=item.get("fiche"),
        note=" ".join(item["note"].split()) if item.get("note") else None,
        categorie=item.get("categorie") or "Catégorie",
    )
    if not _ID.match(chart.id):
        raise ConfigurationError(
            f"Graphique « {chart.id} » : identifiant invalide",
            where=str(path),
            action="lettres minuscules sans accent, chiffres et _ (c'est aussi le nom de "
            "sa requête et de son fichier CSV), par exemple logement_types",
        )
    try:
        chart.source.format(**dict.fromkeys(SOURCE_PLACEHOLDERS, 2022))
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigurationError(
            f"Graphique « {chart.id} » : ligne de source invalide ({error})",
            where=str(path),
            action="n'utilisez que " + ", ".join(f"{{{n}}}" for n in SOURCE_PLACEHOLDERS),
        ) from error
    if chart.type not in CHART_TYPES:
        raise ConfigurationError(
            f"Graphique « {chart.id} » : type « {chart.type} » inconnu",
            where=str(path),
            action=f"choisissez parmi : {', '.join(CHART_TYPES)}",
        )
    if not chart.query_path.is_file():
        raise ConfigurationError(
            f"Graphique « {chart.id} » : sa requête est introuvable",
            where=str(chart.query_path),
            action="écrivez la requête SQL du graphique (colonnes décrites dans le registre)",
        )
    return chart


def _check_unique(ids: list[str], path: Path) -> None:
    doubles = sorted({chart_id for chart_id in ids if ids.count(chart_id) > 1})
    if doubles:
        raise ConfigurationError(
            f"Graphique(s) déclaré(s) deux fois : {', '.join(doubles)}",
            where=str(path),
            action="donnez un id unique à chaque graphique",
        )
