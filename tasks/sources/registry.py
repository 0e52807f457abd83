"""The declarative source registry (`warehouse/sources.yaml`) as typed objects."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tasks.core.errors import ConfigurationError
from tasks.core.settings import PROJECT_ROOT

REGISTRY_PATH = PROJECT_ROOT / "warehouse" / "sources.yaml"
FORMATS = {"csv", "zip", "json", "xlsx"}
_YEAR_TOKEN = re.compile(r"\{yy(?:([+-])(\d+))?\}")


def resolve_template(template: str, millesime: int) -> str:
    """`P{yy-6}_POP` with 2022 -> `P16_POP`."""

    def replace(match: re.Match[str]) -> str:
        sign, offset = match.groups()
        year = millesime + (int(offset) * (1 if sign == "+" else -1) if sign else 0)
        return f"{year % 100:02d}"

    return _YEAR_TOKEN.sub(replace, template)


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching the template for any year, capturing the `{yy}` digits."""
    parts = _YEAR_TOKEN.split(template)
    regex = ""
    for index in range(0, len(parts), 3):
        regex += re.escape(parts[index])
        if index + 1 < len(parts):
            is_base_year = parts[index + 1] is None
            regex += r"(?P<yy>\d{2})" if is_base_year and "(?P<yy>" not in regex else r"\d{2}"
    return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class Column:
    """One column of a source. Editions differ: `avant` gives the name the column had
    before a year (`{2019: "ETTOT{yy}"}`: ETTOT18 in 2018, ETTOT{yy+2} since 2019);
    `depuis` / `jusqu_a` bound the millésimes that carry it at all. `additive: false`
    (a median, a rate): never added up when communes merge."""

    source: str
    libelle: str
    variable: str | None = None
    unite: str | None = None
    theme: str | None = None
    depuis: int | None = None
    jusqu_a: int | None = None
    avant: dict[int, str] = field(default_factory=dict)
    additive: bool = True
    # A JSON key only some records carry (`chefLieu`): an extract may lack it entirely.
    optionnelle: bool = False

    def present(self, millesime: int) -> bool:
        return (self.depuis is None or millesime >= self.depuis) and (
            self.jusqu_a is None or millesime <= self.jusqu_a
        )

    def template(self, millesime: int) -> str:
        older = [year for year in sorted(self.avant) if millesime < year]
        return self.avant[older[0]] if older else self.source


@dataclass(frozen=True)
class Discovery:
    """Where the newest millésime of a source is announced (a machine-readable catalogue).

    `from_catalogue`: the file itself comes from the catalogue entry (Melodi products);
    otherwise the catalogue only tells the year, and the file address comes from `urls`.
    """

    catalogue: str
    dataset: str
    from_catalogue: bool = False


@dataclass(frozen=True)
class Levels:
    """National files mix geographic levels: only the rows of these levels are kept."""

    column: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class ValuesDetection:
    """The millésime read from the data: the newest year matched in a column
    (`dtreffre` = `2024-12` -> 2024), for exports that hold a whole series."""

    column: str
    pattern: str


@dataclass(frozen=True)
class Millesime:
    """`cog`, `recensement`, `fiscal` (Filosofi: a yearly file read like a census file,
    whose year is not the census year asked for), `serie` (a series: the newest year in
    the data, never the census year asked for) or `extraction` (the year of the
    download: each value carries its own year, or none)."""

    kind: str
    default: str | None = None
    detect_from_column: str | None = None
    detect_from_values: ValuesDetection | None = None
    # `cog` only: the file of year N lists every change up to N (movements of
    # communes): a run on an older COG reads the oldest file at least as recent.
    cumulatif: bool = False


@dataclass(frozen=True)
class Geographie:
    """The COG vintage of the codes of a file, as its documentation states it: its
    millésime plus `decalage` (RP 2022 -> COG 2025), a millésime's own vintage
    (`millesimes`: {2019: 2021}), or a fixed `cog` (an API serving one geography)."""

    decalage: int | None = None
    cog: int | None = None
    millesimes: dict[int, int] = field(default_factory=dict)

    def of(self, millesime: int) -> int:
        if millesime in self.millesimes:
            return self.millesimes[millesime]
        return self.cog if self.cog is not None else millesime + (self.decalage or 0)


@dataclass(frozen=True)
class Indicateur:
    """One indicator of a per-indicator API (Observatoire des territoires): one file each.

    `insee`: `mart.colonne` of the same indicator computed from the census, compared
    with it by the quality gate."""

    code: str
    dataset: str
    libelle: str
    unite: str | None = None
    theme: str | None = None
    format: str | None = None
    insee: str | None = None


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    producer: str
    licence: str
    url: str
    format: str
    encoding: str
    millesime: Millesime
    key: str
    key_pattern: str
    columns: tuple[Column, ...]
    separator: str | None = None
    member: str | None = None
    geographie: Geographie | None = None
    # The national reference (COG): refreshed with any other source, every model needs it.
    referentiel: bool = False
    facultative: bool = False
    unique_key: bool = False
    discovery: Discovery | None = None
    urls_by_millesime: dict[int, str] = field(default_factory=dict)
    levels: Levels | None = None
    # Codes that are not communes but carry rows to keep (CAF: "" unlocated, "99999"…).
    pseudo_codes: dict[str, str] = field(default_factory=dict)
    sheet: str | None = None  # xlsx: the sheet to read
    header_row: int = 1  # xlsx: the row of the header (banner rows above it)
    indicateurs: tuple[Indicateur, ...] = ()
    value_column: str | None = None  # per-indicator files: the value column's name
    replace_by: str | None = None  # a reload replaces the rows of these values only

    def fingerprint(self) -> str:
        """Changes whenever the registry entry changes (columns, libellés, layout…)."""
        return hashlib.sha256(repr(self).encode("utf-8")).hexdigest()

    def urls(self, millesime: int | None) -> list[str]:
        if self.discovery or self.urls_by_millesime:
            raise ConfigurationError(
                f"la source {self.id} se découvre par millésime : son adresse ne se déduit pas",
                where=str(REGISTRY_PATH),
                action="son adresse vient de la découverte des millésimes "
                "(tasks/sources/discovery.py) : signalez cet appel",
            )
        return [self.url.format(millesime=millesime)]

    def indicator_url(self, indicateur: Indicateur) -> str:
        return self.url.format(
            dataset=indicateur.dataset,
            indicateur=indicateur.code,
            format=indicateur.format or self.format,
        )

    def columns_of(self, millesime: int) -> list[tuple[Column, str]]:
        """The columns of this millésime's edition, each with its name in the file."""
        return [
            (column, resolve_template(column.template(millesime), millesime))
            for column in self.columns
            if column.present(millesime)
        ]

    def expected_columns(self, millesime: int) -> list[str]:
        return [name for _, name in self.columns_of(millesime)]

    def required_columns(self, millesime: int) -> list[str]:
        return [name for column, name in self.columns_of(millesime) if not column.optionnelle]

    def detect_millesime(self, header: list[str]) -> int | None:
        """Read the census year from a header: `P22_POP` (and not `P16_POP`) -> 2022.

        Several columns can match the template (P22_POP, P16_POP): the year kept is the
        one whose expected columns best match the header.
        """
        if not self.millesime.detect_from_column:
            return None
        pattern = template_pattern(self.millesime.detect_from_column)
        candidates = {2000 + int(m["yy"]) for name in header if (m := pattern.match(name))}
        if not candidates:
            return None
        present = set(header)
        return max(
            sorted(candidates),
            key=lambda year: len(present.intersection(self.expected_columns(year))),
        )

    def default_millesime(self, today: dt.date) -> int | None:
        if self.millesime.default == "annee_courante":
            return today.year
        return None


@dataclass(frozen=True)
class Territoire:
    """`defaut`: the territory of a run when none is given (an EPCI SIREN or a commune
    code); `epci_is_mel`: the EPCI whose member communes carry `is_mel`, the client's flag."""

    defaut: str
    epci_is_mel: str


@dataclass(frozen=True)
class Registry:
    territoire: Territoire
    sources: dict[str, Source]
    catalogues: dict[str, str] = field(default_factory=dict)

    def select(self, ids: list[str] | None) -> list[Source]:
        """The sources asked for, with the national reference (`referentiel`) first."""
        if not ids:
            return list(self.sources.values())
        ids = list(dict.fromkeys([*(s.id for s in self.sources.values() if s.referentiel), *ids]))
        unknown = [source_id for source_id in ids if source_id not in self.sources]
        if unknown:
            raise ConfigurationError(
                f"source(s) inconnue(s) : {', '.join(unknown)}",
                where=str(REGISTRY_PATH),
                action=f"choisissez parmi : {', '.join(self.sources)}",
            )
        return [self.sources[source_id] for source_id in ids]


def load_registry(path: Path = REGISTRY_PATH) -> Registry:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        territoire = Territoire(**document["territoire"])
        sources = {
            source_id: _source(source_id, entry) for source_id, entry in document["sources"].items()
        }
        if not sources:
            raise KeyError("sources")
        catalogues = dict(document.get("catalogues") or {})
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise ConfigurationError(
            f"registre des sources illisible ({error.__class__.__name__} : {error})",
            where=str(path),
            action="corrigez le fichier YAML (voir l'en-tête du fichier pour le format attendu)",
        ) from error
    for source in sources.values():
        if source.discovery and source.discovery.catalogue not in catalogues:
            raise ConfigurationError(
                f"la source {source.id} se découvre dans le catalogue "
                f"« {source.discovery.catalogue} », absent du bloc `catalogues`",
                where=str(path),
                action="déclarez l'adresse du catalogue dans `catalogues`",
            )
    return Registry(territoire=territoire, sources=sources, catalogues=catalogues)


def _geographie(entry: dict) -> Geographie:
    entry = dict(entry)
    years = {int(year): int(cog) for year, cog in (entry.pop("millesimes", None) or {}).items()}
    return Geographie(**entry, millesimes=years)


def _source(source_id: str, entry: dict) -> Source:
    entry = dict(entry)
    if entry.get("format") not in FORMATS:
        raise ConfigurationError(
            f"format « {entry.get('format')} » inconnu pour la source {source_id}",
            where=str(REGISTRY_PATH),
            action=f"utilisez l'un de : {', '.join(sorted(FORMATS))}",
        )
    columns = tuple(
        Column(**{**column, "avant": {int(y): n for y, n in (column.get("avant") or {}).items()}})
        for column in entry.pop("columns")
    )
    millesime = dict(entry.pop("millesime"))
    values = millesime.pop("detect_from_values", None)
    millesime = Millesime(
        **millesime, detect_from_values=ValuesDetection(**values) if values else None
    )
    indicateurs = tuple(Indicateur(**line) for line in entry.pop("indicateurs", None) or [])
    for indicateur in indicateurs:
        if (indicateur.format or entry.get("format")) not in FORMATS:
            raise ConfigurationError(
                f"format « {indicateur.format} » inconnu pour l'indicateur {indicateur.code} "
                f"de la source {source_id}",
                where=str(REGISTRY_PATH),
                action=f"utilisez l'un de : {', '.join(sorted(FORMATS))}",
            )
    pseudo_codes = {
        str(code): meaning for code, meaning in (entry.pop("pseudo_codes", None) or {}).items()
    }
    geographie = entry.pop("geographie", None)
    discovery = entry.pop("discovery", None)
    levels = entry.pop("levels", None)
    urls = {int(year): url for year, url in (entry.pop("urls", None) or {}).items()}
    if millesime.kind == "cog" and not urls:
        raise ConfigurationError(
            f"la source {source_id} suit le COG mais n'a pas d'adresse par millésime",
            where=str(REGISTRY_PATH),
            action="indiquez sous `urls` l'adresse du fichier de chaque COG (2026: …)",
        )
    if not entry.get("url") and not urls and not (discovery or {}).get("from_catalogue"):
        raise ConfigurationError(
            f"la source {source_id} n'a ni `url`, ni `urls` par millésime, ni catalogue",
            where=str(REGISTRY_PATH),
            action="indiquez où se trouve le fichier",
        )
    return Source(
        id=source_id,
        columns=columns,
        millesime=millesime,
        discovery=Discovery(**discovery) if discovery else None,
        urls_by_millesime=urls,
        geographie=_geographie(geographie) if geographie else None,
        levels=Levels(levels["column"], tuple(levels["values"])) if levels else None,
        indicateurs=indicateurs,
        pseudo_codes=pseudo_codes,
        **{"url": "", **entry},
    )
