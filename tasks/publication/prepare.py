"""What each fiche publishes: the files, their sha1, the metadata, the changelog."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tasks.core.errors import ConfigurationError, InvalidData
from tasks.core.sql import quote_ident
from tasks.core.text import french_number
from tasks.publication import changelog
from tasks.publication.catalog import Fiche, Perimetre, catalog_dir
from tasks.sources.registry import Registry

KEY_EXTRA = "opendata-mel:jeu"
RESOURCE_EXTRA = "opendata-mel:ressource"
DATA, DICTIONARY = "donnees", "dictionnaire"


@dataclass
class Record:
    """What was last published for one resource (a row of meta.publications)."""

    dataset_id: str
    resource_id: str
    sha1: str
    journal: str
    dataset_fingerprint: str | None = None
    resource_fingerprint: str | None = None


def fingerprint(metadata: dict) -> str:
    """A stable fingerprint of metadata as we send them (ids left out)."""
    kept = {key: value for key, value in metadata.items() if key != "id"}
    return hashlib.sha1(json.dumps(kept, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Resource:
    key: str
    path: Path
    sha1: str
    metadata: dict
    changes: changelog.Changes | None = None
    base: str = ""  # the description, without its changelog
    entry: str | None = None  # the new changelog entry, when the content changed

    def describe(self, previous_journal: str) -> str:
        """The description with its changelog: the new entry (if any) on top of the old."""
        journal = (
            changelog.journal(previous_journal, self.entry) if self.entry else previous_journal
        )
        return f"{self.base}\n\n{journal}".strip()

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def content(self) -> bytes:
        return self.path.read_bytes()


@dataclass
class Prepared:
    key: str  # <fiche>/<périmètre>
    fiche: Fiche
    perimetre: Perimetre
    organisation: str | None
    metadata: dict
    resources: list[Resource]
    snapshot: dict[str, dict]
    rows: int


def dataset_key(fiche: Fiche, perimetre: str) -> str:
    return f"{fiche.name}/{perimetre}"


@dataclass(frozen=True)
class Request:
    """One dataset to prepare: a fiche for one perimeter, and where its files go."""

    fiche: Fiche
    perimetre: Perimetre
    organisation: str | None
    registry: Registry
    folder: Path
    today: dt.date

    @property
    def key(self) -> str:
        return dataset_key(self.fiche, self.perimetre.code)


def prepare(
    conn: duckdb.DuckDBPyConnection,
    request: Request,
    records: dict[str, Record],
    previous_rows: dict[str, dict] | None,
) -> Prepared:
    """The files and metadata of one dataset, from the warehouse; `records` and
    `previous_rows` are what was last published, for the changelog."""
    fiche, perimetre = request.fiche, request.perimetre
    relation = _relation(conn, fiche, perimetre)
    frame = relation.df()
    data_path = _write_data(relation, frame, request)
    facts = _facts(conn, request, frame)
    rows = changelog.snapshot_rows(frame, fiche.cle)
    data = _data_resource(request, data_path, facts, records.get(DATA), previous_rows, rows)
    dictionary = _dictionary(fiche, request.folder)
    dictionary.base = "Nom et description de chaque colonne du fichier de données."
    dictionary.metadata = _resource_metadata(
        DICTIONARY,
        f"Dictionnaire des colonnes : {fiche.titre.format(**facts)}",
        dictionary.base,
        "documentation",
    )
    return Prepared(
        key=request.key,
        fiche=fiche,
        perimetre=perimetre,
        organisation=request.organisation,
        metadata=_dataset_metadata(request, facts, frame),
        resources=[data, dictionary],
        snapshot=rows,
        rows=len(frame),
    )


def _write_data(relation: duckdb.DuckDBPyRelation, frame, request: Request) -> Path:
    """The perimeter's rows in key order, internal columns left out, checked against the
    standard the fiche follows."""
    fiche = request.fiche
    path = _data_path(fiche, request.perimetre, frame, request.folder, request.today)
    published = [quote_ident(c) for c in relation.columns if c not in fiche.colonnes_internes]
    relation.order(", ".join(quote_ident(c) for c in fiche.cle)).select(
        ", ".join(published)
    ).write_csv(str(path), header=True)
    check_schema(fiche, path)
    return path


def _facts(conn: duckdb.DuckDBPyConnection, request: Request, frame) -> dict[str, str]:
    """What the fiche's texts are filled with: the perimeter, counts, millésimes, sources."""
    fiche = request.fiche
    return {
        "perimetre": request.perimetre.nom,
        "lignes": french_number(len(frame)),
        "communes": french_number(frame["code_commune"].nunique()),
        "millesimes": ", ".join(
            str(v) for v in sorted(frame[fiche.couverture_temporelle].dropna().unique())
        ),
        "sources": _sources(conn, fiche, request.registry),
        "colonnes": _columns_table(fiche),
    }


def _data_resource(
    request: Request,
    path: Path,
    facts: dict[str, str],
    prior: Record | None,
    previous_rows: dict[str, dict] | None,
    rows: dict[str, dict],
) -> Resource:
    """The data file, with a changelog entry when its content changed."""
    fiche = request.fiche
    data = Resource(DATA, path, _sha1(path), {}, base=_data_description(facts))
    if not (prior and prior.sha1 == data.sha1):
        data.changes = changelog.compare(previous_rows, rows)
        data.entry = changelog.entry(request.today.isoformat(), facts["millesimes"], data.changes)
    data.metadata = _resource_metadata(
        DATA,
        # A standard's file name (SCDL) is its title: the platform slugifies stored names.
        path.name if fiche.nom_fichier else fiche.titre.format(**facts) + " (CSV)",
        data.describe(prior.journal if prior else ""),
        "main",
    )
    if fiche.schema:
        data.metadata["schema"] = dict(fiche.schema)
    return data


def check_columns(conn: duckdb.DuckDBPyConnection, fiche: Fiche) -> None:
    """Every published column is described in the fiche, and only those."""
    every = conn.table(f"marts.{quote_ident(fiche.mart)}").columns
    columns = [c for c in every if c not in fiche.colonnes_internes]
    missing = [c for c in columns if c not in fiche.colonnes]
    extra = [c for c in fiche.colonnes if c not in columns]
    if missing or extra:
        raise ConfigurationError(
            "les colonnes décrites dans la fiche ne sont pas celles du mart "
            f"{fiche.mart} (sans description : {', '.join(missing) or 'aucune'} ; "
            f"inconnues du mart : {', '.join(extra) or 'aucune'})",
            where=str(fiche.path),
            action="mettez à jour `colonnes` dans la fiche",
        )


def check_schema(fiche: Fiche, path: Path) -> None:
    """A file that follows a standard is validated against the official schema kept in
    catalog/schemas/ before anything is sent: a failing file is never published."""
    if not fiche.schema:
        return
    from tasks.quality.schema.validate import validate

    name = f"{fiche.schema['name'].replace('/', '-')}-{fiche.schema['version']}.json"
    schema_path = catalog_dir() / "schemas" / name
    if not schema_path.is_file():
        raise ConfigurationError(
            f"la fiche {fiche.name} suit le schéma {fiche.schema['name']} "
            f"{fiche.schema['version']}, dont la copie locale manque",
            where=str(schema_path),
            action="ajoutez le schéma officiel (schema.json) sous ce nom",
        )
    result = validate(path, schema_path)
    if not result.publiable:
        raise InvalidData(
            f"le fichier préparé pour {fiche.name} n'est pas conforme au schéma "
            f"{fiche.schema['name']} {fiche.schema['version']} : " + " ; ".join(result.lines()[:5]),
            where=str(path),
            action="rien n'a été publié : corrigez les données (rapport de la commande "
            "`opendata-mel subventions build`) puis relancez",
        )


def _data_path(fiche: Fiche, perimetre: Perimetre, frame, folder: Path, today: dt.date) -> Path:
    if not fiche.nom_fichier:
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{fiche.name}-{perimetre.code}.csv"
    values = {"date": today.strftime("%Y%m%d")}
    for column in re.findall(r"{(\w+)}", fiche.nom_fichier):
        if column == "date":
            continue
        distinct = frame[column].dropna().unique() if column in frame else []
        if len(distinct) != 1:
            raise InvalidData(
                f"le nom du fichier de {fiche.name} prend la colonne {column}, qui a "
                f"{len(distinct)} valeur(s) dans le périmètre {perimetre.code} au lieu d'une",
                where=str(fiche.path),
                action="vérifiez `nom_fichier` dans la fiche et les données du mart",
            )
        values[column] = str(distinct[0])
    # One folder per dataset: the dated name changes, the previous file goes.
    own = folder / dataset_key(fiche, perimetre.code).replace("/", "-")
    shutil.rmtree(own, ignore_errors=True)
    own.mkdir(parents=True)
    return own / fiche.nom_fichier.format(**values)


def _relation(conn: duckdb.DuckDBPyConnection, fiche: Fiche, perimetre: Perimetre):
    check_columns(conn, fiche)
    # The filter value is bound as a parameter; the column name comes from the catalogue.
    return conn.sql(
        f"select * from marts.{quote_ident(fiche.mart)} "
        f"where {quote_ident(perimetre.colonne)} = $valeur",
        params={"valeur": perimetre.valeur},
    )


def _dataset_metadata(request: Request, facts: dict[str, str], frame) -> dict:
    fiche, perimetre, organisation = request.fiche, request.perimetre, request.organisation
    years = sorted(int(v) for v in frame[fiche.couverture_temporelle].dropna().unique())
    metadata = {
        "title": fiche.titre.format(**facts),
        "description": fiche.description.format(**facts).strip(),
        "license": fiche.licence,
        "frequency": fiche.frequence,
        "tags": sorted(set(fiche.mots_cles)),
        "spatial": {"zones": perimetre.zones, "granularity": fiche.granularite},
        "temporal_coverage": (
            {"start": f"{years[0]}-01-01", "end": f"{years[-1]}-12-31"} if years else None
        ),
        "extras": {KEY_EXTRA: request.key},
    }
    if organisation:
        metadata["organization"] = organisation
    return metadata


def _resource_metadata(key: str, title: str, description: str, kind: str) -> dict:
    return {
        "title": title,
        "description": description,
        "type": kind,
        "extras": {RESOURCE_EXTRA: key},
    }


def _data_description(facts: dict) -> str:
    return (
        f"{facts['lignes']} lignes, millésime(s) {facts['millesimes']}. Fichier CSV en UTF-8, "
        "séparateur virgule, point décimal ; colonnes décrites dans la ressource "
        "« Dictionnaire des colonnes »."
    )


def _dictionary(fiche: Fiche, folder: Path) -> Resource:
    path = folder / f"{fiche.name}-dictionnaire.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["colonne", "description"])
        writer.writerows(fiche.colonnes.items())
    return Resource(DICTIONARY, path, _sha1(path), {})


def _columns_table(fiche: Fiche) -> str:
    rows = [f"| `{name}` | {text} |" for name, text in fiche.colonnes.items()]
    return "\n".join(["| colonne | description |", "|---|---|", *rows])


def _sources(conn: duckdb.DuckDBPyConnection, fiche: Fiche, registry: Registry) -> str:
    lines = []
    for source_id in fiche.sources:
        source = registry.sources[source_id]
        millesimes = [
            str(row[0])
            for row in conn.execute(
                "select millesime from meta.chargements where source_id = ? order by 1",
                [source_id],
            ).fetchall()
        ]
        lines.append(
            f"- {source.title} ({source.producer}), millésime(s) {', '.join(millesimes)} : "
            f"<{source.url.split('?')[0]}>"
        )
    return "\n".join(lines)


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()
