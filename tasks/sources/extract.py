"""Fetch one source: download (or reuse), check the format, read the millésime, keep it raw."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tasks.core.errors import (
    ConfigurationError,
    InvalidData,
    InvalidFormat,
    LayoutChanged,
    OpenDataError,
    SourceUnavailable,
)
from tasks.core.sql import quote_ident
from tasks.sources import imports, indicators
from tasks.sources.client import SourceClient
from tasks.sources.discovery import Catalogues, Discovered, discover, registered
from tasks.sources.formats import check_payload, read_header
from tasks.sources.raw_store import RawFile, RawStore
from tasks.sources.registry import Indicateur, Source, resolve_template

log = logging.getLogger(__name__)

DOWNLOADED = "téléchargé"
NOT_MODIFIED = "inchangé (HTTP 304)"
SAME_CONTENT = "inchangé (contenu identique)"


@dataclass(frozen=True)
class Millesimes:
    """What the run asked for: a census millésime and a COG vintage (None: the newest)."""

    recensement: int | None
    cog: int | None
    today: dt.date


@dataclass(frozen=True)
class Fetched:
    """One file read, or, for a per-indicator source, one indicator that could not be
    (`raw` None and `error` the French message): the other indicators still load."""

    source_id: str
    raw: RawFile | None
    status: str
    discovered: Discovered | None = None
    indicateur: str | None = None
    error: str | None = None


def fetch(
    client: SourceClient,
    store: RawStore,
    source: Source,
    millesimes: Millesimes,
    catalogues: Catalogues | None = None,
) -> list[Fetched]:
    """Every file of a source (one per indicator for per-indicator sources)."""
    if source.millesime.kind == "cog" and source.urls_by_millesime:
        return [_fetch_discovered(client, store, source, cog_file(source, millesimes))]
    if source.indicateurs:
        return [
            _fetch_indicator(client, store, source, indicateur, millesimes.today)
            for indicateur in source.indicateurs
        ]
    if source.discovery or source.urls_by_millesime:
        fetched = [
            _fetch_discovered(client, store, source, found)
            for found in _millesimes_to_load(source, catalogues, _census_year(source, millesimes))
        ]
        return fetched + _imported(store, source, millesimes, fetched)
    if source.millesime.kind == "serie":  # the newest year in the data, whatever asked
        declared, wanted = None, None
    elif source.millesime.kind == "extraction":
        declared, wanted = millesimes.today.year, None
    else:
        declared, wanted = None, millesimes.recensement
    fetched = [
        _fetch_url(client, store, source, url, declared, wanted)
        for url in source.urls(declared or wanted)
    ]
    return fetched + _imported(store, source, millesimes, fetched)


def _census_year(source: Source, millesimes: Millesimes) -> int | None:
    """--millesime is a census year: a source of another series (Filosofi, `fiscal`)
    always loads its newest millésime and those the registry lists."""
    return millesimes.recensement if source.millesime.kind == "recensement" else None


def _imported(
    store: RawStore, source: Source, millesimes: Millesimes, fetched: list[Fetched]
) -> list[Fetched]:
    """Files the officer imported (`opendata-mel importer`), for the millésimes not
    downloaded in this run: a past millésime no longer online stays in the warehouse."""
    if _census_year(source, millesimes) is not None:
        return []
    skip = {item.raw.millesime for item in fetched if item.raw}
    return [
        Fetched(source.id, raw, imports.IMPORTED, imports.discovered(raw))
        for raw in imports.imported(store, source, skip)
    ]


def _millesimes_to_load(
    source: Source, catalogues: Catalogues | None, wanted: int | None
) -> list[Discovered]:
    """The newest millésime, and every older one the registry lists (each file of a
    year holds only that year). A Melodi file holds the whole series or the reference
    year: always the newest of the catalogue, whatever --millesime asks of the others."""
    if source.discovery and source.discovery.from_catalogue:
        return [discover(source, catalogues, None)]
    found = discover(source, catalogues, wanted)
    if wanted is not None:
        return [found]
    older = [
        registered(source, year)
        for year in sorted(source.urls_by_millesime)
        if year < found.millesime
    ]
    return [*older, found]


def _fetch_discovered(
    client: SourceClient, store: RawStore, source: Source, found: Discovered
) -> Fetched:
    # A file whose header carries the year is checked against it; otherwise the
    # catalogue's year is the millésime.
    declared = None if source.millesime.detect_from_column else found.millesime
    fetched = _fetch_url(client, store, source, found.url, declared, found.millesime)
    return Fetched(fetched.source_id, fetched.raw, fetched.status, found)


def _fetch_indicator(
    client: SourceClient,
    store: RawStore,
    source: Source,
    indicateur: Indicateur,
    today: dt.date,
) -> Fetched:
    """One indicator; its failure is reported, never raised: the others still load."""
    url = source.indicator_url(indicateur)
    as_served = dataclasses.replace(source, format=indicators.file_format(source, indicateur))
    try:
        fetched = _fetch_url(client, store, as_served, url, today.year, None, indicateur=indicateur)
    except OpenDataError as error:
        log.warning("Indicateur %s de %s non chargé : %s", indicateur.code, source.id, error.what)
        return Fetched(
            source.id,
            None,
            f"en échec : {error.what}",
            indicateur=indicateur.code,
            # What and where only: the advice of the inner error ("nothing was loaded")
            # is wrong here, the other indicators were; `enforce_complete` says what to do.
            error=f"indicateur {indicateur.code} ({indicateur.libelle}) : {error.title} : "
            f"{error.what}" + (f"\n  Où : {error.where}" if error.where else ""),
        )
    return dataclasses.replace(fetched, indicateur=indicateur.code)


def cog_year(source: Source, millesimes: Millesimes) -> int:
    """The COG of the run: the one asked for, else the newest the registry knows an
    address for (never a future year: in January, before the new files exist)."""
    if millesimes.cog:
        return millesimes.cog
    known = [year for year in source.urls_by_millesime if year <= millesimes.today.year]
    return max(known or source.urls_by_millesime)


def cog_file(source: Source, millesimes: Millesimes) -> Discovered:
    """The file of a COG source for the run's vintage, from the registry's `urls`.

    A cumulative file (movements of communes) of a later year also serves an older COG."""
    year = cog_year(source, millesimes)
    years = sorted(source.urls_by_millesime)
    usable = [y for y in years if y >= year] if source.millesime.cumulatif else [year]
    found = next((y for y in usable if y in source.urls_by_millesime), None)
    if found is None:
        example = years[-1]
        raise ConfigurationError(
            f"aucune adresse connue pour le COG {year} de la source {source.id} "
            f"({source.title}) ; COG connus : {', '.join(map(str, years))}",
            where=f"warehouse/sources.yaml, `urls` de {source.id}",
            action=f"ajoutez sous `urls` de {source.id} la ligne « {year}: <adresse> » du "
            f"fichier du COG {year} (pour {example} : {source.urls_by_millesime[example]}), "
            f"ou relancez avec --cog {example}",
        )
    origine = "registre" if found == year else f"registre (fichier du COG {found}, cumulatif)"
    return Discovered(source.id, found, source.urls_by_millesime[found], origine)


def _fetch_url(
    client: SourceClient,
    store: RawStore,
    source: Source,
    url: str,
    declared: int | None,
    wanted: int | None,
    indicateur: Indicateur | None = None,
) -> Fetched:
    previous = store.latest(url)
    if previous and declared and previous.millesime != declared:
        previous = None  # kept under another vintage: fetch it again, without validators
    scratch = store.scratch(source.id)
    try:
        download = client.download(url, scratch, previous.validators if previous else None)
        if download.not_modified and previous:
            _check_wanted(source, url, previous.millesime, wanted)
            return Fetched(source.id, previous, NOT_MODIFIED)
        check_payload(scratch, source, url)
        if indicateur:  # a layout change is told now, for this indicator alone
            indicators.check_layout(scratch, source, indicateur, url)
        millesime = declared or _detected_millesime(source, scratch, url, wanted)
        raw, new = store.keep(
            scratch,
            source_id=source.id,
            url=url,
            millesime=millesime,
            validators=download.validators,
        )
    except (InvalidFormat, LayoutChanged, InvalidData) as error:
        if not scratch.exists():
            raise
        kept = store.reject(scratch, source.id)
        raise type(error)(
            error.what, where=f"{error.where} ; fichier reçu conservé : {kept}", action=error.action
        ) from error
    finally:
        scratch.unlink(missing_ok=True)  # an interrupted download is never kept
    return Fetched(source.id, raw, DOWNLOADED if new else SAME_CONTENT)


def _detected_millesime(source: Source, path, url: str, wanted: int | None) -> int:
    if source.millesime.detect_from_values:
        return _newest_year_in_values(source, path, url)
    header = read_header(path, source)
    found = source.detect_millesime(header)
    if found is None:
        examples = ", ".join(
            resolve_template(source.millesime.detect_from_column, year) for year in (2022, 2023)
        )
        raise LayoutChanged(
            f"impossible de lire le millésime : aucune colonne de la forme {examples}…",
            where=f"{url} (source {source.id})",
            action="le producteur a changé la structure du fichier : comparez son en-tête "
            "avec warehouse/sources.yaml",
        )
    _check_wanted(source, url, found, wanted)
    return found


def _check_wanted(source: Source, url: str, found: int | None, wanted: int | None) -> None:
    if wanted and found != wanted:
        raise InvalidData(
            f"le fichier publié contient le millésime {found}, pas le millésime {wanted} demandé",
            where=f"{url} (source {source.id})",
            action=f"relancez sans --millesime pour prendre {found}, ou attendez la publication "
            f"du millésime {wanted}",
        )


def _newest_year_in_values(source: Source, path: Path, url: str) -> int:
    """An export holding a series (CAF: one December snapshot per year): its millésime is
    the newest year of its reference column. An export with no dated row is refused."""
    detection = source.millesime.detect_from_values
    header = read_header(path, source)
    if detection.column not in header:
        raise LayoutChanged(
            f"colonne {detection.column} absente : impossible de dater l'export "
            f"(colonnes lues : {', '.join(header)})",
            where=f"{url} (source {source.id})",
            action="le producteur a changé la structure de l'export : comparez son en-tête "
            "avec `columns` dans warehouse/sources.yaml",
        )
    delimiter = (source.separator or ",").replace("'", "''")
    with duckdb.connect() as conn:
        rows, newest = conn.execute(
            f"select count(*), max(try_cast(regexp_extract({quote_ident(detection.column)}, ?, 1) "
            f"as integer)) from read_csv(?, delim = '{delimiter}', header = true, "
            "columns = ?, quote = '\"')",
            [detection.pattern, str(path), dict.fromkeys(header, "VARCHAR")],
        ).fetchone()
    if newest is None:
        raise InvalidData(
            f"l'export ne contient aucune ligne datée ({rows} ligne(s), colonne "
            f"{detection.column} de la forme {detection.pattern})",
            where=f"{url} (source {source.id})",
            action="un export vide vient souvent d'un filtre ou d'une maintenance du portail : "
            "réessayez plus tard ; rien n'a été chargé, l'entrepôt garde les données "
            "précédentes",
        )
    return newest


def enforce_complete(fetched: list[Fetched]) -> None:
    """End the run as failed when an indicator could not be read, once the others are in."""
    failed = [item for item in fetched if item.error]
    if not failed:
        return
    raise SourceUnavailable(
        f"{len(failed)} indicateur(s) non chargé(s) ; les autres indicateurs et sources ont "
        "été chargés, contrôlés et exportés :\n"
        + "\n".join("    - " + item.error.replace("\n", "\n      ") for item in failed),
        where=", ".join(sorted({item.source_id for item in failed})),
        action="un code d'indicateur inconnu fait répondre HTTP 500 au portail : vérifiez le "
        "code sur le portail et corrigez `indicateurs` dans warehouse/sources.yaml ; un "
        "indicateur non chargé garde dans l'entrepôt ses valeurs précédentes",
    )
