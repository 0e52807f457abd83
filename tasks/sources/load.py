"""Load raw files, unmodified, into the `raw` schema of the candidate warehouse.

Every value stays text: as read (CSV, through Arrow: `reading.py`), or as its JSON text
(a number `2103778`, a list `["75001","75002"]`, a string without its quotes); staging
models do the renaming and casting. A file whose layout changed, or whose commune
codes are damaged, is refused here with the file and the lines named.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from tasks.core.errors import ConfigurationError, InvalidData, InvalidFormat, LayoutChanged
from tasks.core.sql import quote_ident, read_sql
from tasks.sources import indicators, reading
from tasks.sources.formats import read_header
from tasks.sources.raw_store import RawFile
from tasks.sources.registry import Registry, Source

META_COLUMNS = ("_millesime", "_sha256", "_fichier", "_ligne")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadReport:
    source_id: str
    millesime: int
    rows: int
    skipped: bool
    ignored_columns: tuple[str, ...] = ()


def prepare(conn: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    conn.execute(read_sql("schema.sql"))
    for source in registry.sources.values():
        if source.facultative:
            _create_empty(conn, source)


def record_execution(
    conn: duckdb.DuckDBPyConnection, registry: Registry, territoire: str | None, cog: int | None
) -> tuple[int, str]:
    """Write what the run is about (ref.execution): its COG, else the newest loaded, and
    its territory, which must be an EPCI or a commune of that COG."""
    territoire = (territoire or registry.territoire.defaut).strip()
    loaded = [
        row[0]
        for row in conn.execute(
            "select distinct _millesime from raw.cog_communes "
            "where _millesime in (select _millesime from raw.cog_epci) order by 1"
        ).fetchall()
    ]
    cog = cog or (loaded[-1] if loaded else None)
    if cog not in loaded:
        raise ConfigurationError(
            f"le référentiel national du COG {cog or '(aucun)'} n'est pas dans l'entrepôt "
            f"(COG chargés : {', '.join(map(str, loaded)) or 'aucun'})",
            where="sources cog_communes et cog_epci",
            action="relancez en incluant les sources cog_communes et cog_epci (ou sans "
            "--sources), avec le même --cog",
        )
    kind = conn.execute(
        "select 'EPCI ' || json_extract_string(to_json(nom), '$') from raw.cog_epci "
        "where _millesime = ? and code = ? union all "
        "select 'commune ' || nom from raw.cog_communes "
        "where _millesime = ? and code = ? and type = 'commune-actuelle'",
        [cog, territoire, cog, territoire],
    ).fetchone()
    if kind is None:
        raise ConfigurationError(
            f"territoire « {territoire} » inconnu du COG {cog} : ni SIREN d'un EPCI à "
            "fiscalité propre, ni code INSEE d'une commune en vigueur",
            where="paramètre --territoire (ou territoire du déploiement)",
            action="donnez le SIREN à 9 chiffres d'un EPCI (200093201 pour la MEL) ou le "
            "code INSEE à 5 caractères d'une commune (59522), du COG de l'exécution",
        )
    conn.execute("delete from ref.execution")
    conn.execute(
        "insert into ref.execution values (?, ?, ?)",
        [cog, territoire, registry.territoire.epci_is_mel],
    )
    return cog, kind[0]


def _create_empty(conn: duckdb.DuckDBPyConnection, source: Source) -> None:
    """A facultative source never loaded still has its (empty) raw table, so that the
    models reading it build, without its rows. Columns are named by their templates."""
    names = dict.fromkeys([source.key, *(column.source for column in source.columns)])
    columns = [f"{quote_ident(name)} varchar" for name in names]
    columns += [
        "_millesime integer",
        "_sha256 varchar",
        "_fichier varchar",
        "_ligne bigint",
    ]
    conn.execute(f"create table if not exists raw.{quote_ident(source.id)} ({', '.join(columns)})")


def load_source(
    conn: duckdb.DuckDBPyConnection, source: Source, files: list[tuple[RawFile, Path]]
) -> LoadReport:
    """Replace the raw rows of this source and millésime, unless they are already loaded."""
    millesime = _single_millesime(source, files)
    fingerprint = _fingerprint(source, [raw for raw, _ in files])
    table = f"raw.{quote_ident(source.id)}"
    previous = conn.execute(
        "select empreinte, lignes from meta.chargements where source_id = ? and millesime = ?",
        [source.id, millesime],
    ).fetchone()
    if previous and previous[0] == fingerprint:
        return LoadReport(source.id, millesime, previous[1], skipped=True)

    ignored: set[str] = set()
    conn.execute("drop table if exists _entrant")
    for raw, path in files:
        ignored |= _stage_file(conn, source, raw, path, millesime)
    _check_codes(conn, source)
    if source.unique_key:
        _check_unique(conn, source)
    rows = conn.execute("select count(*) from _entrant").fetchone()[0]
    # One transaction: the raw table and its records change together, or not at all.
    conn.execute("begin transaction")
    try:
        _replace_rows(conn, table, millesime, source.replace_by)
        _add_other_editions_columns(conn, source, table)
        _record(conn, source, millesime, fingerprint, rows, [raw for raw, _ in files])
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")
    conn.execute("drop table _entrant")
    return LoadReport(
        source.id, millesime, rows, skipped=False, ignored_columns=tuple(sorted(ignored))
    )


def _stage_file(
    conn: duckdb.DuckDBPyConnection, source: Source, raw: RawFile, path: Path, millesime: int
) -> set[str]:
    if source.indicateurs:
        with tempfile.TemporaryDirectory(prefix="opendata-") as scratch:
            normalised = _normalised_indicator(source, raw, path, Path(scratch))
            as_read = dataclasses.replace(
                source, format="csv", encoding="utf-8", separator=";", indicateurs=()
            )
            return _stage_file(conn, as_read, raw, normalised, millesime)
    header = read_header(path, source)
    _check_layout(source, raw, path, header, source.required_columns(millesime), millesime)
    expected = [name for name in source.expected_columns(millesime) if name in header]
    meta = [millesime, raw.sha256, raw.path]
    if source.format == "json":
        _append_incoming(conn, source, raw, *_json_select(source, path, expected, meta))
    else:
        with (
            tempfile.TemporaryDirectory(prefix="opendata-") as scratch,
            _registered(conn, source, raw, path, header, expected, Path(scratch)) as name,
        ):
            _append_incoming(conn, source, raw, *_csv_select(source, name, expected, meta))
    return {name for name in header if name not in expected}


def _check_layout(
    source: Source,
    raw: RawFile,
    path: Path,
    header: list[str],
    expected: list[str],
    millesime: int,
) -> None:
    missing = [name for name in expected if name not in header]
    if missing:
        raise LayoutChanged(
            f"colonne(s) attendue(s) absente(s) : {', '.join(missing)} "
            f"(millésime {millesime}, {len(header)} colonnes lues)",
            where=f"{raw.url} → {path.name} (source {source.id})",
            action="le producteur a changé la structure du fichier : comparez son en-tête "
            "avec `columns` dans warehouse/sources.yaml et mettez le registre à jour",
        )


# Meta columns of every loaded row: millésime, sha256 and path of the raw file (bound
# parameters), then the row's number in its file (`_ligne`).
_META_SELECT = "?::integer as _millesime, ?::varchar as _sha256, ?::varchar as _fichier"


def _json_select(source: Source, path: Path, expected: list[str], meta: list) -> tuple[str, list]:
    """The declared keys of a JSON array, each as its JSON text (nested values too),
    with the meta columns; `_ligne` is the record number."""
    declared = ", ".join(
        f"json_extract_string(to_json({quote_ident(n)}), '$') as {quote_ident(n)}"
        for n in dict.fromkeys(expected)
    )
    # Every record is read for its keys: a key that few records carry (`chefLieu`,
    # `commune` of the arrondissements) is still a column.
    select = (
        f"select {declared}, {_META_SELECT}, (row_number() over ())::bigint as _ligne "
        "from read_json(?, format = 'array', sample_size = -1)"
    )
    return _levels(source, f"select * from ({select})", [*meta, str(path)])


def _csv_select(
    source: Source, registered: str, expected: list[str], meta: list
) -> tuple[str, list]:
    """The declared columns of a CSV read by Arrow (`_registered`), with the meta columns.
    Only the declared columns are loaded (a census file has ~300): the file itself stays
    whole in data/raw."""
    declared = ", ".join(quote_ident(name) for name in dict.fromkeys(expected))
    select = f"select {declared}, {_META_SELECT}, {reading.LINE_COLUMN} from {registered}"
    return _levels(source, select, meta)


def _levels(source: Source, select: str, params: list) -> tuple[str, list]:
    """National files mix levels (COM, DEP, REG…): keep the communes."""
    if not source.levels:
        return select, params
    where = f" where {quote_ident(source.levels.column)} in (select unnest(?))"
    return select + where, [*params, list(source.levels.values)]


@contextmanager
def _registered(
    conn: duckdb.DuckDBPyConnection,
    source: Source,
    raw: RawFile,
    path: Path,
    header: list[str],
    columns: list[str],
    scratch: Path,
) -> Iterator[str]:
    """The file's rows as a DuckDB view of its Arrow batches, while they are read."""
    name = "_fichier_entrant"
    batches = None
    try:
        with reading.csv_batches(source, path, header, columns, scratch) as batches:
            conn.register(name, batches.reader)
            try:
                yield name
            finally:
                conn.unregister(name)
    except pa.ArrowException as error:  # the first block is parsed on opening
        raise _unreadable(source, raw, reading.describe(error, source)) from error
    except InvalidFormat:  # DuckDB passes on the text of Arrow's error only
        if batches is None or batches.error is None:
            raise
        arrow = batches.error
        raise _unreadable(source, raw, reading.describe(arrow, source)) from arrow


def _append_incoming(
    conn: duckdb.DuckDBPyConnection, source: Source, raw: RawFile, select: str, params: list
) -> None:
    """Add the rows to _entrant, created by the first file of the source."""
    exists = conn.execute(
        "select count(*) from duckdb_tables() where table_name = '_entrant'"
    ).fetchone()[0]
    statement = "insert into _entrant by name" if exists else "create temp table _entrant as"
    try:
        conn.execute(f"{statement} {select}", params)
    except duckdb.Error as error:
        raise _unreadable(source, raw, _first_line(error)) from error


def _unreadable(source: Source, raw: RawFile, reason: str) -> InvalidFormat:
    return InvalidFormat(
        f"le fichier n'a pas pu être lu : {reason}",
        where=f"{raw.url} → {raw.path} (source {source.id})",
        action="le fichier est peut-être mal formé (nombre de champs variable, "
        "guillemets) : ouvrez-le pour vérifier ; rien n'a été chargé",
    )


def _normalised_indicator(source: Source, raw: RawFile, path: Path, scratch: Path) -> Path:
    """A per-indicator file (CSV or XLSX, value column named after the indicator) as one
    long CSV, so that every indicator lands in the same raw table."""
    indicateur = indicators.indicator_for_url(source, raw.url)
    as_served = dataclasses.replace(source, format=indicators.file_format(source, indicateur))
    rows = indicators.read_rows(path, as_served, indicateur, raw.url)
    return indicators.write_normalised(rows, scratch / f"{indicateur.code}.csv")


def _check_codes(conn: duckdb.DuckDBPyConnection, source: Source) -> None:
    key = quote_ident(source.key)
    # Pseudo-codes the producer documents (CAF: "" unlocated, 99999 abroad…) are kept.
    bad = conn.execute(
        f"select _fichier, _ligne, {key}::varchar from _entrant "
        f"where {key} is null or not (regexp_full_match({key}::varchar, ?) "
        f"or {key}::varchar in (select unnest(?::varchar[]))) order by _ligne",
        [source.key_pattern, list(source.pseudo_codes)],
    ).fetchall()
    if not bad:
        return
    unit = "enregistrement n°" if source.format == "json" else "ligne "
    samples = ", ".join(f"{unit}{line} : « {code or ''} »" for _, line, code in bad[:10])
    lost_zero = any(code and code.isdigit() and len(code) == 4 for _, _, code in bad)
    action = (
        "des codes à 4 chiffres ont perdu leur zéro initial (fichier ré-enregistré par un "
        "tableur ?) : reprenez le fichier original du producteur, ne le corrigez pas à la main"
        if lost_zero
        else "vérifiez le fichier du producteur ; un code commune a 5 caractères (2A/2B en Corse)"
    )
    raise InvalidData(
        f"{len(bad)} code(s) commune invalide(s) dans la colonne {source.key} ({samples})",
        where=f"{bad[0][0]} (source {source.id})",
        action=action,
    )


def _check_unique(conn: duckdb.DuckDBPyConnection, source: Source) -> None:
    """A file with one row per commune: a code twice would be added up, or one lost."""
    key = quote_ident(source.key)
    doubles = conn.execute(
        f"select {key}::varchar, string_agg(_ligne::varchar, ', ' order by _ligne), "
        f"any_value(_fichier) from _entrant group by {key} having count(*) > 1 "
        f"order by min(_ligne) limit 10"
    ).fetchall()
    if doubles:
        samples = " ; ".join(f"« {code} » lignes {lines}" for code, lines, _ in doubles)
        raise InvalidData(
            f"code(s) commune en double dans la colonne {source.key} : {samples}",
            where=f"{doubles[0][2]} (source {source.id})",
            action="le fichier a une ligne par commune : vérifiez le fichier du producteur "
            "(une concaténation de deux extraits ?) ; rien n'a été chargé",
        )


def _replace_rows(
    conn: duckdb.DuckDBPyConnection, table: str, millesime: int, replace_by: str | None = None
) -> None:
    """The incoming rows replace those of the same millésime, or, with `replace_by`
    (per-indicator sources), those of the same indicators whatever their millésime: an
    indicator that could not be read this time keeps its previous rows."""
    exists = conn.execute(
        "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = ?",
        [table.split(".", 1)[1].strip('"').replace('""', '"')],
    ).fetchone()[0]
    if not exists:
        conn.execute(f"create table {table} as select * from _entrant limit 0")
    current = {row[0] for row in conn.execute(f"select * from {table} limit 0").description}
    incoming = conn.execute("select * from _entrant limit 0").description
    for name, type_code, *_ in incoming:
        if name not in current:
            conn.execute(f"alter table {table} add column {quote_ident(name)} {type_code}")
    if replace_by:
        column = quote_ident(replace_by)
        conn.execute(f"delete from {table} where {column} in (select {column} from _entrant)")
    else:
        conn.execute(f"delete from {table} where _millesime = ?", [millesime])
    conn.execute(f"insert into {table} by name select * from _entrant")


def _add_other_editions_columns(
    conn: duckdb.DuckDBPyConnection, source: Source, table: str
) -> None:
    """A column some editions only carry (`siren` since 2022, named without a year) is
    a column of the raw table whatever the editions loaded: NULL where absent."""
    current = {row[0] for row in conn.execute(f"select * from {table} limit 0").description}
    for column in source.columns:
        if "{" not in column.source and column.source not in current:
            conn.execute(f"alter table {table} add column {quote_ident(column.source)} varchar")


def _record(
    conn: duckdb.DuckDBPyConnection,
    source: Source,
    millesime: int,
    fingerprint: str,
    rows: int,
    raws: list[RawFile],
) -> None:
    conn.execute(
        "insert or replace into meta.chargements values (?, ?, ?, ?, now())",
        [source.id, millesime, fingerprint, rows],
    )
    for raw in raws:
        conn.execute(
            "insert or replace into meta.fichiers_bruts values (?, ?, ?, ?, ?, ?, ?)",
            [raw.source_id, raw.url, raw.millesime, raw.sha256, raw.size, raw.fetched_at, raw.path],
        )
    _record_variables(conn, source, millesime)
    if source.indicateurs:
        _record_indicators(conn, source)


def _record_variables(conn: duckdb.DuckDBPyConnection, source: Source, millesime: int) -> None:
    """The registry's label of each column, under the code it has in this millésime."""
    conn.execute(
        "delete from ref.variables where source_id = ? and millesime = ?", [source.id, millesime]
    )
    conn.execute(
        "insert into ref.variables by name select unnest(?, recursive := true)",
        [
            [
                {
                    "source_id": source.id,
                    "millesime": millesime,
                    "code_indicateur": code,
                    "variable": column.variable,
                    "libelle": column.libelle,
                    "unite": column.unite,
                    "theme": column.theme,
                    "additive": column.additive,
                }
                for column, code in source.columns_of(millesime)
            ]
        ],
    )
    if source.geographie:
        conn.execute(
            "insert or replace into ref.geographies values (?, ?, ?)",
            [source.id, millesime, source.geographie.of(millesime)],
        )


def _record_indicators(conn: duckdb.DuckDBPyConnection, source: Source) -> None:
    conn.execute("delete from ref.indicateurs where source_id = ?", [source.id])
    conn.executemany(
        "insert into ref.indicateurs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                source.id,
                item.code,
                item.dataset,
                item.libelle,
                item.unite,
                item.theme,
                item.format or source.format,
                *(item.insee.split(".", 1) if item.insee else (None, None)),
            ]
            for item in source.indicateurs
        ],
    )


def _single_millesime(source: Source, files: list[tuple[RawFile, Path]]) -> int:
    millesimes = {raw.millesime for raw, _ in files}
    if len(millesimes) != 1 or None in millesimes:
        option = "--cog" if source.millesime.kind == "cog" else "--millesime"
        raise InvalidData(
            f"les fichiers de la source {source.id} ne portent pas un même millésime "
            f"({', '.join(str(m) for m in sorted(millesimes, key=str))}) : un département a "
            "peut-être déjà publié le nouveau millésime, pas les autres",
            where=", ".join(raw.path for raw, _ in files),
            action=f"relancez plus tard, ou fixez le millésime avec {option}",
        )
    return millesimes.pop()


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def _fingerprint(source: Source, raws: list[RawFile]) -> str:
    """Same files and same registry entry: nothing to reload."""
    parts = [source.fingerprint(), *sorted(raw.sha256 for raw in raws)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()
