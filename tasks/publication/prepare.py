"""What each fiche publishes: the files, their sha1, the metadata, the changelog."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tasks.core.errors import ConfigurationError, InvalidData
from tasks.core.sql import quote_ident
from tasks.core.text import french_number
from tasks.publication import changelog, evidence, files
from tasks.publication.catalog import Fiche, Perimetre, catalog_dir
from tasks.quality.gate import Outcome
from tasks.sources.registry import Registry

KEY_EXTRA = "opendata-mel:jeu"
RESOURCE_EXTRA = "opendata-mel:ressource"
DATA, DICTIONARY, QUALITY = "donnees", "dictionnaire", "controles"


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
    # The new file changes or removes rows already published (or nobody knows what was
    # published): the previous file is kept as a resource of its own before the replace.
    revises: bool = False
    when: str = ""  # the day of this publication (AAAA-MM-JJ)

    def describe(self, previous_journal: str) -> str:
        """The description with its changelog: the new entry (if any) on top of the old."""
        entry = self.entry
        if entry and self.revises and previous_journal:
            entry += f" ; version précédente conservée : « {archive_title(previous_journal)} »"
        journal = changelog.journal(previous_journal, entry) if entry else previous_journal
        return f"{self.base}\n\n{journal}".strip()

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def content(self) -> bytes:
        return self.path.read_bytes()


def archive_title(journal: str) -> str:
    """« Version du 2026-07-15 (remplacée) »: the date of the replaced file's changelog
    entry, the newest of the published journal."""
    dates = changelog.dates(journal)
    return f"Version du {dates[0]} (remplacée)" if dates else "Version précédente (remplacée)"


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
    colonnes: dict[str, str] = field(default_factory=dict)  # published column → description

    def resource(self, key: str) -> Resource:
        return next(r for r in self.resources if r.key == key)


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
    outcomes: tuple[Outcome, ...] = ()  # the checks that gate this publication
    shared_columns: dict[str, str] = field(default_factory=dict)  # catalog/colonnes.yaml

    @property
    def key(self) -> str:
        return dataset_key(self.fiche, self.perimetre.code)


def prepare(
    conn: duckdb.DuckDBPyConnection,
    request: Request,
    records: dict[str, Record],
    previous_rows: dict[str, dict] | None,
    relation: duckdb.DuckDBPyRelation | None = None,
) -> Prepared:
    """The files and metadata of one dataset, from the warehouse (the perimeter's rows of
    the fiche's mart, or `relation`); `records` and `previous_rows` are what was last
    published, for the changelog."""
    fiche, perimetre = request.fiche, request.perimetre
    if relation is None:
        relation = perimeter_rows(conn, fiche, perimetre)
    colonnes = column_descriptions(
        conn, fiche, relation.columns, request.shared_columns, request.registry
    )
    frame = relation.df()
    data_path, remarks = _write_data(relation, frame, request)
    facts = _facts(conn, request, frame, colonnes)
    rows = changelog.snapshot_rows(frame, fiche.cle)
    data = _data_resource(request, data_path, facts, records.get(DATA), previous_rows, rows)
    dictionary = _dictionary(fiche, colonnes, request.folder)
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
        resources=[data, dictionary, _quality(request, remarks, facts)],
        snapshot=rows,
        rows=len(frame),
        colonnes=colonnes,
    )


def perimeter_rows(
    conn: duckdb.DuckDBPyConnection, fiche: Fiche, perimetre: Perimetre
) -> duckdb.DuckDBPyRelation:
    """The rows of the perimeter in the fiche's mart: those of its communes, or, in a mart
    of EPCIs, the row of the EPCI of a commune."""
    columns = conn.table(f"marts.{quote_ident(fiche.mart)}").columns
    mart = f"marts.{quote_ident(fiche.mart)}"
    # The filter value is bound as a parameter; the column name comes from the catalogue.
    if perimetre.colonne in columns:
        where = f"{quote_ident(perimetre.colonne)} = $valeur"
    else:
        where = (
            "code_epci = (select code_epci from intermediate.int_communes "
            "where code_commune = $valeur and type_commune = 'commune-actuelle')"
        )
    return conn.sql(f"select * from {mart} where {where}", params={"valeur": perimetre.valeur})


def column_descriptions(
    conn: duckdb.DuckDBPyConnection,
    fiche: Fiche,
    columns: list[str],
    shared: dict[str, str],
    registry: Registry | None = None,
) -> dict[str, str]:
    """The description of every published column, in the file's order: the fiche's own,
    else the shared one (catalog/colonnes.yaml), else the label of the registry variable
    of that name in the fiche's sources (ref.variables, newest millésime; for an edition
    this warehouse never loaded, the registry that fills ref.variables), else the
    standard's (the official schema the file follows)."""
    published = [c for c in columns if c not in fiche.colonnes_internes]
    variables = {**_declared(registry, fiche.sources), **_variables(conn, fiche.sources)}
    standard = {f["name"]: _field_text(f) for f in schema_of(fiche).get("fields", [])}
    found = {}
    for column in published:
        for known in (fiche.colonnes, shared, variables, standard):
            if known.get(column):
                found[column] = known[column]
                break
    missing = [c for c in published if c not in found]
    extra = [c for c in fiche.colonnes if c not in published]
    if missing or extra:
        raise ConfigurationError(
            "les colonnes décrites dans la fiche ne sont pas celles du mart "
            f"{fiche.mart} (sans description : {', '.join(missing) or 'aucune'} ; "
            f"inconnues du mart : {', '.join(extra) or 'aucune'})",
            where=str(fiche.path),
            action="décrivez-les sous `colonnes` dans la fiche (ou dans catalog/colonnes.yaml "
            "si plusieurs marts les partagent), ou retirez celles que le mart n'a plus",
        )
    return found


def _variables(conn: duckdb.DuckDBPyConnection, sources: list[str]) -> dict[str, str]:
    if not sources:
        return {}
    rows = conn.execute(
        "select variable, arg_max(libelle, millesime), arg_max(unite, millesime), "
        "min(list_position($sources, source_id)) as rang from ref.variables "
        "where variable is not null and list_contains($sources, source_id) "
        "group by variable, source_id order by rang desc",
        {"sources": list(sources)},
    ).fetchall()
    # The first source of the fiche wins: later rows overwrite earlier ones.
    return {
        variable: f"{libelle} ({unite})" if unite else libelle
        for variable, libelle, unite, _ in rows
    }


def _declared(registry: Registry | None, sources: list[str]) -> dict[str, str]:
    """The variables the registry declares for the sources, the first source first."""
    found: dict[str, str] = {}
    for source_id in sources if registry else []:
        for column in registry.sources[source_id].columns:
            if column.variable and column.variable not in found:
                unit = f" ({column.unite})" if column.unite else ""
                found[column.variable] = f"{column.libelle}{unit}"
    return found


def _write_data(
    relation: duckdb.DuckDBPyRelation, frame, request: Request
) -> tuple[Path, list[str]]:
    """The perimeter's rows in key order, internal columns left out, checked against the
    standard the fiche follows (its remarks returned)."""
    fiche = request.fiche
    path = _data_path(fiche, request.perimetre, frame, request.folder, request.today)
    published = [quote_ident(c) for c in relation.columns if c not in fiche.colonnes_internes]
    with files.replacing(path) as partial:
        relation.order(", ".join(quote_ident(c) for c in fiche.cle)).select(
            ", ".join(published)
        ).write_csv(str(partial), header=True)
    return path, check_schema(fiche, path)


def _facts(
    conn: duckdb.DuckDBPyConnection, request: Request, frame, colonnes: dict[str, str]
) -> dict[str, str]:
    """What the fiche's texts are filled with: the perimeter, counts, millésimes, sources."""
    fiche = request.fiche
    years = (
        sorted(frame[fiche.couverture_temporelle].dropna().unique())
        if fiche.couverture_temporelle
        else []
    )
    communes = frame["code_commune"].nunique() if "code_commune" in frame else 0
    return {
        "perimetre": request.perimetre.nom,
        "collectivite": request.perimetre.nom_collectivite,
        "lignes": french_number(len(frame)),
        "communes": french_number(communes),
        "millesimes": ", ".join(str(v) for v in years) or "sans objet",
        "sources": _sources(conn, fiche, request.registry),
        "colonnes": _columns_table(colonnes),
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
    data.when = request.today.isoformat()
    if not (prior and prior.sha1 == data.sha1):
        data.changes = changelog.compare(previous_rows, rows)
        data.entry = changelog.entry(request.today.isoformat(), facts["millesimes"], data.changes)
        data.revises = data.changes.revises
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


def schema_path(fiche: Fiche) -> Path:
    """The local copy of the official schema the fiche's file follows."""
    name = f"{fiche.schema['name'].replace('/', '-')}-{fiche.schema['version']}.json"
    path = catalog_dir() / "schemas" / name
    if not path.is_file():
        raise ConfigurationError(
            f"la fiche {fiche.name} suit le schéma {fiche.schema['name']} "
            f"{fiche.schema['version']}, dont la copie locale manque",
            where=str(path),
            action="ajoutez le schéma officiel (schema.json) sous ce nom",
        )
    return path


def schema_of(fiche: Fiche) -> dict:
    """The official schema the fiche's file follows ({} when it follows none)."""
    return json.loads(schema_path(fiche).read_text(encoding="utf-8")) if fiche.schema else {}


def _field_text(field_: dict) -> str:
    """A schema field's title and the first sentence of its description."""
    description = (field_.get("description") or "").strip()
    first = re.split(r"(?<=[.!?])\s", description, maxsplit=1)[0]
    title = field_.get("title") or ""
    return " : ".join(part for part in (title, first) if part)


def check_schema(fiche: Fiche, path: Path) -> list[str]:
    """A file that follows a standard is validated against the official schema kept in
    catalog/schemas/ before anything is sent: a failing file is never published. The
    remarks that do not stop it (warnings) are returned, for the quality evidence."""
    if not fiche.schema:
        return []
    from tasks.quality.schema.validate import validate

    result = validate(path, schema_path(fiche))
    if not result.publiable:
        raise InvalidData(
            f"le fichier préparé pour {fiche.name} n'est pas conforme au schéma "
            f"{fiche.schema['name']} {fiche.schema['version']} : " + " ; ".join(result.lines()[:5]),
            where=str(path),
            action="rien n'a été publié : corrigez les données (rapport de la commande "
            "`opendata-mel subventions build`) puis relancez",
        )
    return result.lines()


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


def _dataset_metadata(request: Request, facts: dict[str, str], frame) -> dict:
    fiche, perimetre, organisation = request.fiche, request.perimetre, request.organisation
    years = (
        sorted(int(v) for v in frame[fiche.couverture_temporelle].dropna().unique())
        if fiche.couverture_temporelle
        else []
    )
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


def _dictionary(fiche: Fiche, colonnes: dict[str, str], folder: Path) -> Resource:
    path = folder / f"{fiche.name}-dictionnaire.csv"
    with files.replacing(path) as partial, partial.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["colonne", "description"])
        writer.writerows(colonnes.items())
    return Resource(DICTIONARY, path, _sha1(path), {})


def _quality(request: Request, remarks: list[str], facts: dict[str, str]) -> Resource:
    """The checks that gated this publication, in French, beside the data."""
    fiche = request.fiche
    path = request.folder / f"{fiche.name}-{request.perimetre.code}-controles.txt"
    files.write_text(path, evidence.markdown(fiche, list(request.outcomes), remarks))
    quality = Resource(QUALITY, path, _sha1(path), {})
    quality.base = (
        "Les contrôles de qualité passés par les données avant leur dernière publication : "
        "règles, résultats et exemples d'écarts."
    )
    quality.metadata = _resource_metadata(
        QUALITY,
        f"Contrôles de qualité : {fiche.titre.format(**facts)}",
        quality.base,
        "documentation",
    )
    return quality


def _columns_table(colonnes: dict[str, str]) -> str:
    rows = [f"| `{name}` | {text} |" for name, text in colonnes.items()]
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
