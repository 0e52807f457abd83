"""A commune's validated SCDL rows into the warehouse: raw → staging → mart."""

from __future__ import annotations

import hashlib

import duckdb

from tasks.core.errors import ConfigurationError, InvalidData
from tasks.core.sql import read_sql
from tasks.subventions.scdl import Row
from tasks.transform import models

SOURCE_ID = "subventions"


def replace_commune(
    conn: duckdb.DuckDBPyConnection, code_commune: str, built: list[Row], columns: list[str]
) -> int:
    """The commune's rows are replaced as a whole: a year dropped from the documents
    disappears, another commune's rows stay."""
    conn.execute(read_sql("schema.sql"))
    conn.execute("delete from raw.subventions where code_commune = ?", [code_commune])
    names = ["code_commune", "annee", *columns, "graphie", "_fichier", "_ligne"]
    placeholders = ", ".join("?" for _ in names)
    conn.executemany(
        f"insert into raw.subventions by position values ({placeholders})",
        [
            [code_commune, row.annee, *(row.values[c] for c in columns), row.graphie,
             str(row.place), number]
            for number, row in enumerate(built, start=2)
        ],
    )  # fmt: skip
    _record(conn)
    return len(built)


def refuse_missing_years(
    conn: duckdb.DuckDBPyConnection, code_commune: str, years: set[int | None]
) -> None:
    """A load replaces the commune's rows: a year in the warehouse that no document holds
    any more would disappear, from the warehouse and then from data.gouv.fr."""
    conn.execute(read_sql("schema.sql"))
    loaded = {
        row[0]
        for row in conn.execute(
            "select distinct annee from raw.subventions where code_commune = ?", [code_commune]
        ).fetchall()
    }
    missing = sorted(loaded - years)
    if missing:
        raise InvalidData(
            f"année(s) déjà publiée(s) pour la commune {code_commune} absente(s) des documents "
            f"lus : {', '.join(map(str, missing))}",
            where="dossier des documents (--input)",
            action="ajoutez au dossier les documents de ces années (un chargement remplace "
            "toutes les années de la commune) ; pour les retirer vraiment, relancez avec "
            "--retirer-annees. Rien n'a été chargé",
        )


def _record(conn: duckdb.DuckDBPyConnection) -> None:
    """One meta.chargements row per year present, every commune included."""
    conn.execute("delete from meta.chargements where source_id = ?", [SOURCE_ID])
    years = conn.execute(
        "with lignes as (select annee, concat_ws('|', code_commune, \"nomBeneficiaire\", "
        'montant, "dateConvention", objet) as ligne from raw.subventions) '
        "select annee, count(*), string_agg(ligne, '\n' order by ligne) from lignes group by annee"
    ).fetchall()
    for annee, lignes, contenu in years:
        empreinte = hashlib.sha256(contenu.encode()).hexdigest()
        conn.execute(
            "insert into meta.chargements values (?, ?, ?, ?, now())",
            [SOURCE_ID, annee, empreinte, lignes],
        )


def downstream_models() -> list[models.Model]:
    """The models built from the subsidies, in build order."""
    every = models.discover()
    return [m for m in every if SOURCE_ID in models.raw_sources(m, every)]


def build(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rebuild only what reads the subsidies; the other tables they read must exist."""
    chosen = downstream_models()
    rebuilt = {m.table for m in chosen}
    existing = models.existing_tables(conn)
    missing = sorted(
        ref
        for model in chosen
        for ref in model.references()
        if ref not in rebuilt and ref not in existing and not ref.startswith("raw.")
    )
    if missing:
        raise ConfigurationError(
            f"l'entrepôt n'a pas encore {', '.join(missing)}, dont les subventions ont besoin "
            "(appartenance des communes à la MEL)",
            where="entrepôt DuckDB (OPENDATA_WAREHOUSE)",
            action="lancez d'abord un rafraîchissement (`make demo` ou `uv run opendata-mel "
            "refresh`), puis relancez ; le fichier SCDL et le rapport sont déjà écrits",
        )
    return models.build(conn, chosen)
