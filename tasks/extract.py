"""Fetch one source: download (or reuse), check the format, read the millésime, keep it raw."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from tasks.discovery import Catalogues, Discovered, discover, registered
from tasks.errors import ConfigurationError, InvalidData, InvalidFormat, LayoutChanged
from tasks.formats import check_payload, read_header
from tasks.http_client import SourceClient
from tasks.raw_store import RawFile, RawStore
from tasks.registry import Source, Territoire, resolve_template

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
    source_id: str
    raw: RawFile
    status: str
    discovered: Discovered | None = None


def fetch(
    client: SourceClient,
    store: RawStore,
    source: Source,
    territoire: Territoire,
    millesimes: Millesimes,
    catalogues: Catalogues | None = None,
) -> list[Fetched]:
    """Every file of a source (one per département for per-département sources)."""
    if source.discovery or source.urls_by_millesime:
        return [
            _fetch_discovered(client, store, source, found)
            for found in _millesimes_to_load(source, catalogues, millesimes.recensement)
        ]
    if source.millesime.kind == "cog":
        declared, wanted = _cog_vintage(source, millesimes), None
    else:
        declared, wanted = None, millesimes.recensement
    return [
        _fetch_url(client, store, source, url, declared, wanted)
        for url in source.urls(territoire, declared or wanted)
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


def _cog_vintage(source: Source, millesimes: Millesimes) -> int | None:
    """The COG vintage of a source; one whose URL has no millésime only serves the current one."""
    current = source.default_millesime(millesimes.today)
    if millesimes.cog and "{millesime}" not in source.url and millesimes.cog != current:
        raise ConfigurationError(
            f"la source {source.id} ne sert que le COG en vigueur ({current}), pas le COG "
            f"{millesimes.cog}",
            where=source.url,
            action="relancez sans --cog (ou avec --cog " + str(current) + ")",
        )
    return millesimes.cog or current


def _fetch_url(
    client: SourceClient,
    store: RawStore,
    source: Source,
    url: str,
    declared: int | None,
    wanted: int | None,
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
