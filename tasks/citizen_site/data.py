"""The numbers behind each chart, read from the warehouse (read only, one connection
for the whole site so that every page shows the same state of the warehouse)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tasks.citizen_site.registry import Chart, queries_dir
from tasks.core.damage import open_checked
from tasks.core.errors import ConfigurationError, InvalidData
from tasks.core.text import french_decimal

MEL = "Ensemble de la MEL"
MASKED = "secret statistique"
UNAVAILABLE = "non disponible"
# What every chart query returns, for a batch of communes ($codes): code_commune is the
# commune whose page shows the row.
_COLUMNS = (
    "code_commune",
    "millesime",
    "territoire",
    "ordre_territoire",
    "categorie",
    "ordre",
    "valeur",
    "raison_absence",
)


@dataclass(frozen=True)
class Commune:
    code: str
    nom: str
    millesime_cog: int


@dataclass(frozen=True)
class Point:
    millesime: int | None
    territoire: str
    ordre_territoire: int
    categorie: str
    ordre: int
    valeur: float | None
    raison_absence: str | None


@dataclass(frozen=True)
class ChartData:
    chart: Chart
    commune: Commune
    millesime: int | None
    points: tuple[Point, ...]

    @property
    def has_data(self) -> bool:
        """True when the warehouse holds at least one value (or an explained absence)."""
        return any(p.valeur is not None or p.raison_absence for p in self.points)

    @property
    def territoires(self) -> list[str]:
        ordered = sorted({(p.ordre_territoire, p.territoire) for p in self.points})
        return [name for _, name in ordered]

    @property
    def categories(self) -> list[str]:
        ordered = sorted({(p.ordre, p.categorie) for p in self.points})
        return list(dict.fromkeys(name for _, name in ordered))

    @property
    def absent(self) -> list[Point]:
        """Values the source explains the absence of (secret, not classified…)."""
        return [p for p in self.points if p.valeur is None and p.raison_absence]

    @property
    def masked(self) -> list[Point]:
        return [p for p in self.absent if p.raison_absence == MASKED]

    def point(self, territoire: str, categorie: str) -> Point | None:
        for p in self.points:
            if p.territoire == territoire and p.categorie == categorie:
                return p
        return None

    def label(self, p: Point | None) -> str:
        """The value as people read it: '1 936', '2,9 %', or why it is missing."""
        if p is None or p.valeur is None:
            return (p.raison_absence if p else None) or UNAVAILABLE
        number = french_decimal(p.valeur, self.chart.decimales)
        return f"{number}\u202f%" if self.chart.unite.startswith("%") else number

    def source_line(self) -> str:
        return "Source : " + self.chart.source.format(**source_values(self))

    def csv_text(self) -> str:
        """The chart's own numbers: comma-separated, decimal point (written UTF-8 with a
        BOM, so that a spreadsheet opened in French shows the accents)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["millesime", "territoire", "categorie", "valeur", "unite", "absence"])
        for p in sorted(self.points, key=lambda p: (p.ordre, p.ordre_territoire)):
            value = "" if p.valeur is None else f"{p.valeur:.{self.chart.decimales}f}"
            absence = "" if p.valeur is not None else (p.raison_absence or UNAVAILABLE)
            writer.writerow(
                [p.millesime, p.territoire, p.categorie, value, self.chart.unite, absence]
            )
        return out.getvalue()


def source_values(data: ChartData) -> dict[str, object]:
    """The placeholders of a chart's source line (registry.SOURCE_PLACEHOLDERS)."""
    years = [int(c) for c in data.categories if c.isdigit()]
    millesime = data.millesime
    return {
        "millesime": millesime or "(millésime non précisé par la source)",
        "millesime_precedent": millesime - 1 if millesime else "",
        "millesime_debut": millesime - 6 if millesime else "",
        "periode": f"{min(years)}-{max(years)}" if years else millesime or "",
        "commune": data.commune.nom,
    }


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.is_file():
        raise ConfigurationError(
            "Entrepôt introuvable : le site se construit à partir de l'entrepôt",
            where=str(path),
            action="lancez d'abord un rafraîchissement (make demo, ou opendata-mel refresh)",
        )
    # A held, damaged or unreadable file: said in French, with what to do (for a damaged
    # one, the command that restores the last good generation).
    conn = open_checked(path)
    conn.execute((queries_dir() / "macros.sql").read_text(encoding="utf-8"))
    return conn


def warehouse_state(conn: duckdb.DuckDBPyConnection) -> str:
    """A fingerprint of the warehouse's loads: equal for two connections that read the
    same state of the warehouse."""
    sql = (queries_dir() / "etat.sql").read_text(encoding="utf-8")
    return conn.execute(sql).fetchone()[0]


def mel_communes(conn: duckdb.DuckDBPyConnection) -> list[Commune]:
    sql = (queries_dir() / "communes.sql").read_text(encoding="utf-8")
    return [Commune(code, nom, millesime) for code, nom, millesime in conn.execute(sql).fetchall()]


def find_commune(conn: duckdb.DuckDBPyConnection, code: str) -> Commune:
    for commune in mel_communes(conn):
        if commune.code == code:
            return commune
    raise InvalidData(
        f"La commune {code} n'est pas une commune actuelle de la MEL dans l'entrepôt",
        where="marts.communes",
        action="donnez le code INSEE (5 caractères) d'une des 95 communes de la MEL, "
        "par exemple 59522 pour Sailly-lez-Lannoy",
    )


def _query_error(chart: Chart, error: Exception) -> ConfigurationError:
    return ConfigurationError(
        f"La requête du graphique « {chart.titre} » échoue : {error}",
        where=str(chart.query_path),
        action="corrigez la requête ; elle doit rendre les colonnes " + ", ".join(_COLUMNS),
    )


def read_charts(
    conn: duckdb.DuckDBPyConnection, chart: Chart, communes: list[Commune]
) -> dict[str, ChartData]:
    """The chart's numbers for each commune of a batch, by code INSEE: one query for the
    whole batch (its rows name the commune whose page shows them)."""
    sql = chart.query_path.read_text(encoding="utf-8")
    try:
        result = conn.execute(sql, {"codes": [commune.code for commune in communes]})
        names = [column[0] for column in result.description]
        rows = result.fetchall()
    except duckdb.CatalogException as error:
        if "Table with name" not in str(error):
            raise _query_error(chart, error) from error
        # A mart built only once its source is loaded (observatoire…): nothing to draw yet.
        rows, names = [], list(_COLUMNS)
    except duckdb.Error as error:
        raise _query_error(chart, error) from error
    missing = [c for c in _COLUMNS if c not in names]
    if missing:
        raise ConfigurationError(
            f"La requête du graphique « {chart.titre} » ne rend pas la ou les colonnes "
            + ", ".join(missing),
            where=str(chart.query_path),
            action="renommez ses colonnes : " + ", ".join(_COLUMNS),
        )
    by_commune: dict[str, list[dict]] = {commune.code: [] for commune in communes}
    for row in rows:
        record = dict(zip(names, row, strict=True))
        if record["code_commune"] in by_commune:
            by_commune[record["code_commune"]].append(record)
    return {
        commune.code: _chart_data(chart, commune, by_commune[commune.code]) for commune in communes
    }


def _chart_data(chart: Chart, commune: Commune, records: list[dict]) -> ChartData:
    # In a fixed order (territory, category), whatever the query's plan: the same
    # warehouse always gives the same SVG, byte for byte.
    points = sorted(
        (
            Point(
                millesime=r["millesime"],
                territoire=r["territoire"],
                ordre_territoire=int(r["ordre_territoire"]),
                categorie=str(r["categorie"]),
                ordre=int(r["ordre"]),
                valeur=None if r["valeur"] is None else float(r["valeur"]),
                raison_absence=r["raison_absence"],
            )
            for r in records
        ),
        key=lambda p: (p.ordre_territoire, p.ordre, p.categorie, p.millesime or 0),
    )
    millesime = max((r["millesime"] for r in records if r["millesime"] is not None), default=None)
    return ChartData(chart, commune, millesime, tuple(points))
