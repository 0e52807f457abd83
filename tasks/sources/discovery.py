"""Find the newest millésime of a census source, and where its file is, without code.

INSEE file addresses carry a page id that changes every year, so a yearly run cannot
guess them. The Melodi catalogue (`/catalog/all`, open, machine-readable) lists every
dataset with its last year (`temporal.endPeriod`) and its downloadable products:

- a source read from Melodi itself (`from_catalogue`) takes the product of that year;
- a source read from an INSEE file takes the year from the catalogue and the address of
  that year's file from `urls` in the registry (the explicit list, also the fallback
  when the catalogue cannot be read).

The result (millésime, address, where it was found) is logged and stored in the
warehouse (`meta.decouvertes`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tasks.core.errors import ConfigurationError, InvalidFormat, OpenDataError, SourceUnavailable
from tasks.sources.client import SourceClient
from tasks.sources.registry import Registry, Source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Discovered:
    source_id: str
    millesime: int
    url: str
    origine: str  # where the millésime and the address were found, in French
    annonce: int | None = None  # the newest year the catalogue announces
    avertissement: str | None = None

    def describe(self) -> str:
        text = f"{self.source_id} : millésime {self.millesime} ({self.origine})"
        return f"{text} ; {self.avertissement}" if self.avertissement else text


@dataclass(frozen=True)
class CatalogueEntry:
    dataset: str
    last_year: int
    products: tuple[tuple[str, str], ...]  # (product id, access URL)
    modified: str | None


class Catalogues:
    """The catalogues of one run, each read at most once."""

    def __init__(self, client: SourceClient, registry: Registry):
        self.client = client
        self.registry = registry
        self._read: dict[str, dict[str, CatalogueEntry] | OpenDataError] = {}

    def entry(self, catalogue: str, dataset: str) -> CatalogueEntry | OpenDataError:
        if catalogue not in self._read:
            self._read[catalogue] = self._fetch(catalogue)
        entries = self._read[catalogue]
        if isinstance(entries, OpenDataError):
            return entries
        if dataset not in entries:
            return InvalidFormat(
                f"le jeu {dataset} n'est plus dans le catalogue {catalogue}",
                where=self.registry.catalogues[catalogue],
                action="l'INSEE l'a peut-être renommé : cherchez-le dans le catalogue et "
                "corrigez `discovery.dataset` dans warehouse/sources.yaml",
            )
        return entries[dataset]

    def _fetch(self, catalogue: str) -> dict[str, CatalogueEntry] | OpenDataError:
        url = self.registry.catalogues[catalogue]
        with tempfile.TemporaryDirectory(prefix="opendata-catalogue-") as scratch:
            path = Path(scratch) / "catalogue.json"
            try:
                self.client.download(url, path)
                return parse_melodi_catalogue(path.read_bytes(), url)
            except (SourceUnavailable, InvalidFormat) as error:
                log.warning("Catalogue %s illisible : %s", catalogue, error.what)
                return error


def parse_melodi_catalogue(payload: bytes, url: str) -> dict[str, CatalogueEntry]:
    """`GET /catalog/all`: a JSON list of datasets with `temporal` and `products`."""
    try:
        document = json.loads(payload.decode("utf-8"))
        entries = {}
        for item in document:
            end = (item.get("temporal") or {}).get("endPeriod") or ""
            if not end[:4].isdigit():
                continue
            products = tuple(
                (product["id"], product["accessURL"])
                for product in item.get("products") or []
                if product.get("accessURL")
            )
            entries[item["identifier"]] = CatalogueEntry(
                item["identifier"], int(end[:4]), products, item.get("modified")
            )
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError, KeyError, AttributeError) as error:
        raise InvalidFormat(
            f"le catalogue reçu n'est pas la liste JSON attendue ({error.__class__.__name__} : "
            f"{error})",
            where=url,
            action="réessayez plus tard ; si cela persiste, l'API a changé : les adresses "
            "explicites du registre (`urls`) servent en attendant",
        ) from error
    if not entries:
        raise InvalidFormat(
            "le catalogue reçu ne contient aucun jeu de données daté",
            where=url,
            action="réessayez plus tard ; les adresses explicites du registre servent en attendant",
        )
    return entries


def discover(source: Source, catalogues: Catalogues, wanted: int | None) -> Discovered:
    """The millésime to load and the address of its file."""
    if wanted is not None:
        return _explicit(source, wanted, origine="millésime demandé")
    if source.discovery is None:
        return _newest_explicit(source, "adresse explicite du registre (pas de catalogue)")
    entry = catalogues.entry(source.discovery.catalogue, source.discovery.dataset)
    if isinstance(entry, OpenDataError):
        found = _newest_explicit(
            source, f"catalogue {source.discovery.catalogue} indisponible ({entry.what})"
        )
        log.warning("%s", found.describe())
        return found
    where = f"catalogue {source.discovery.catalogue}, jeu {entry.dataset}" + (
        f", modifié le {entry.modified[:10]}" if entry.modified else ""
    )
    if source.discovery.from_catalogue:
        found = Discovered(
            source.id, entry.last_year, _product(entry, source), where, entry.last_year
        )
    elif entry.last_year in source.urls_by_millesime:
        found = Discovered(
            source.id,
            entry.last_year,
            source.urls_by_millesime[entry.last_year],
            f"{where} ; adresse du registre",
            entry.last_year,
        )
    else:
        known = _newest_explicit(source, f"{where} ; adresse du registre")
        found = Discovered(
            source.id,
            known.millesime,
            known.url,
            known.origine,
            entry.last_year,
            avertissement=(
                f"l'INSEE annonce le millésime {entry.last_year}, dont l'adresse du fichier "
                f"n'est pas encore dans le registre : ajoutez-la sous `urls` de {source.id} "
                "dans warehouse/sources.yaml"
            )
            if entry.last_year > known.millesime
            else None,
        )
    log.info("Millésime découvert — %s", found.describe())
    return found


def _product(entry: CatalogueEntry, source: Source) -> str:
    """The CSV product of the last year (`DS_X_2022_CSV_FR`), else the only CSV product."""
    year_token = f"_{entry.last_year}_"
    for product_id, url in entry.products:
        if year_token in product_id and product_id.endswith("_CSV_FR"):
            return url
    csv_products = [url for product_id, url in entry.products if product_id.endswith("_CSV_FR")]
    if len(csv_products) == 1:
        return csv_products[0]
    if entry.last_year in source.urls_by_millesime:
        return source.urls_by_millesime[entry.last_year]
    raise InvalidFormat(
        f"le catalogue annonce {entry.dataset} {entry.last_year} sans fichier CSV "
        f"(produits : {', '.join(p for p, _ in entry.products) or 'aucun'})",
        where=f"source {source.id}",
        action="réessayez plus tard, ou fixez le millésime avec --millesime",
    )


def registered(source: Source, millesime: int) -> Discovered:
    """An older millésime the registry lists, loaded beside the newest."""
    return _explicit(source, millesime, origine="millésime antérieur")


def _explicit(source: Source, millesime: int, origine: str) -> Discovered:
    if millesime in source.urls_by_millesime:
        return Discovered(
            source.id, millesime, source.urls_by_millesime[millesime], f"{origine} ; registre"
        )
    known = ", ".join(str(year) for year in sorted(source.urls_by_millesime)) or "aucun"
    raise ConfigurationError(
        f"aucune adresse connue pour le millésime {millesime} de la source {source.id} "
        f"(millésimes connus : {known})",
        where="warehouse/sources.yaml",
        action="relancez sans --millesime pour prendre le plus récent, ou ajoutez l'adresse "
        f"sous `urls` de {source.id}",
    )


def _newest_explicit(source: Source, origine: str) -> Discovered:
    if not source.urls_by_millesime:
        raise SourceUnavailable(
            f"millésime introuvable pour la source {source.id} : {origine}, et aucune "
            "adresse explicite de repli dans le registre",
            where="warehouse/sources.yaml",
            action="réessayez plus tard, ou ajoutez l'adresse du fichier sous `urls`",
        )
    millesime = max(source.urls_by_millesime)
    return Discovered(source.id, millesime, source.urls_by_millesime[millesime], origine)


def record(conn, found: list[Discovered]) -> None:
    """Keep each discovery in the warehouse (`meta.decouvertes`)."""
    if not found:
        return
    now = dt.datetime.now(dt.UTC)
    conn.executemany(
        "insert into meta.decouvertes values (?, ?, ?, ?, ?, ?, ?)",
        [
            [
                item.source_id,
                item.millesime,
                item.url,
                item.origine,
                item.annonce,
                item.avertissement,
                now,
            ]
            for item in found
        ],
    )
