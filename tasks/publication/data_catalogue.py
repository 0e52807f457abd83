"""The organisation's data catalogue, in the SCDL « catalogue » schema: one row per
dataset it publishes with this program, read from the platform once published.

Every value is stable while the dataset does not change (no time of the run): the
catalogue of an unchanged organisation stays byte-identical and is not sent again.
DATE_MAJ is the day of the newest entry of the data file's changelog, DATE_PUBL the day
the platform created the dataset, NOMBRE_RESSOURCES counts the kept versions too.
The producer declared is the organisation that publishes (the original producers, INSEE,
the CAF or the ANCT, are named in each dataset's description and sources).
"""

from __future__ import annotations

import json
import re

import duckdb
import pandas as pd

from tasks.publication import changelog
from tasks.publication.catalog import Fiche, Perimetre
from tasks.publication.prepare import DATA, Prepared

# data.gouv.fr's codes → the SCDL's words.
FREQUENCIES = {
    "unknown": "Inconnue",
    "punctual": "Ponctuelle",
    "irregular": "Irrégulière",
    "continuous": "Continuelle",
    "hourly": "Toutes les heures",
    "daily": "Quotidienne ou plusieurs fois par jour",
    "weekly": "Hebdomadaire ou plusieurs fois par semaine",
    "monthly": "Mensuelle ou plusieurs fois par mois",
    "bimonthly": "Bimestrielle",
    "quarterly": "Trimestrielle",
    "semiannual": "Semestrielle",
    "annual": "Annuelle",
    "biennial": "Biennale",
    "triennial": "Triennale",
    "quinquennial": "Quinquennale",
}
LICENCES = {
    "lov2": "Licence Ouverte-LO",
    "fr-lo": "Licence Ouverte-LO",
    "odc-odbl": "Open Database License-ODBL",
    "cc-by": "Creative Commons-CC",
    "cc-by-sa": "Creative Commons-CC",
    "cc-zero": "Creative Commons-CC",
}
MAILLES = {"fr:commune": "Communale", "fr:epci": "Intercommunale", "fr:iris": "Infracommunale"}


def entry(prepared: Prepared, remote: dict, site: str) -> dict:
    """The catalogue row of one published dataset (without the organisation's columns)."""
    metadata = prepared.metadata
    created = (remote.get("created_at") or "")[:10]
    changes = changelog.dates(prepared.resource(DATA).metadata.get("description") or "")
    coverage = metadata.get("temporal_coverage") or {}
    resources = remote.get("resources") or []
    formats = sorted({(r.get("format") or "").lower() for r in resources} - {""})
    return {
        "ID": remote["id"],
        "TITRE": metadata["title"],
        "DESCRIPTION": _summary(metadata["description"]),
        "THEME": prepared.fiche.theme,
        "COUV_SPAT_MAILLE": MAILLES.get(metadata["spatial"]["granularity"], "Autre"),
        "COUV_SPAT_NOM": prepared.perimetre.nom,
        "COUV_TEMP_DEBUT": coverage.get("start") or created,
        "COUV_TEMP_FIN": coverage.get("end") or (changes[0] if changes else created),
        "DATE_PUBL": created,
        "FREQ_MAJ": FREQUENCIES.get(metadata["frequency"], "Inconnue"),
        "DATE_MAJ": changes[0] if changes else created,
        "MOTS_CLES": ";".join(metadata["tags"]),
        "LICENCE": LICENCES.get(metadata["license"], "Spécifique ou autre"),
        "NOMBRE_RESSOURCES": len(resources),
        "FORMAT_RESSOURCES": ";".join(formats),
        "URL": remote.get("page") or f"{site}/datasets/{remote['id']}/",
    }


def stored_entries(conn: duckdb.DuckDBPyConnection, env: str, keys: list[str]) -> dict[str, dict]:
    """The rows of the datasets already published (meta.catalogue), by dataset key."""
    rows = conn.execute(
        "select jeu, entree from meta.catalogue where environnement = ? and list_contains(?, jeu)",
        [env, keys],
    ).fetchall()
    return {key: json.loads(row) for key, row in rows}


def save_entry(conn: duckdb.DuckDBPyConnection, env: str, key: str, row: dict) -> None:
    conn.execute(
        "insert or replace into meta.catalogue values (?, ?, ?)",
        [env, key, json.dumps(row, ensure_ascii=False, sort_keys=True)],
    )


def frame(fiche: Fiche, perimetre: Perimetre, schema: dict, rows: list[dict]) -> pd.DataFrame:
    """The catalogue of one organisation, in the schema's column order."""
    columns = [f["name"] for f in schema["fields"]]
    organisation = {
        "COLL_NOM": perimetre.nom_collectivite,
        "COLL_SIRET": perimetre.siret,
        "PRODUCTEUR_NOM": perimetre.nom_collectivite,
        "PRODUCTEUR_SIRET": perimetre.siret,
    }
    table = pd.DataFrame([{**row, **organisation} for row in rows], columns=columns)
    return table.sort_values(fiche.cle, kind="stable").reset_index(drop=True)


def _summary(description: str) -> str:
    """The first paragraph of a description, on one line."""
    first = re.split(r"\n\s*\n|\n#", description.strip(), maxsplit=1)[0]
    return " ".join(first.split())
