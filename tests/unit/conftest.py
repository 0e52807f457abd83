"""Shared fixtures of the unit layer: in-memory DuckDB warehouses, the real sample files.

Nothing here starts a Prefect flow, udata or a browser (see MARKERS in tests/conftest.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tasks.core.settings import PROJECT_ROOT
from tasks.core.sql import read_sql
from tasks.publication.catalog import Catalog, Fiche, load_catalog
from tasks.publication.prepare import Prepared, Request, prepare
from tasks.sources import load
from tasks.sources.raw_store import RawFile, sha256_of
from tasks.sources.registry import Registry, load_registry
from tasks.subventions import scdl
from tasks.subventions.config import load_config
from tasks.subventions.extraction import read_document
from tasks.subventions.model import Reading
from tasks.subventions.scdl import Beneficiary, Row
from tasks.transform import models
from tests.conftest import (
    COG_COMMUNES,
    COG_EPCI,
    COMPARATEUR,
    FIXTURES,
    MOUVEMENTS,
    SAMPLES,
)

MEL = "200093201"
COG = 2026  # the COG the sample mirror matches (samples/README.md)
CENSUS = 2022  # the comparateur sample is the RP 2022

# The real sample files, by source, with the millésime a refresh gives them.
SAMPLE_FILES = {
    "cog_communes": (SAMPLES / COG_COMMUNES.format(version="6.0.0"), COG),
    "cog_epci": (SAMPLES / COG_EPCI.format(version="6.0.0"), COG),
    "cog_mouvements": (SAMPLES / MOUVEMENTS, COG),
    "insee_comparateur": (SAMPLES / COMPARATEUR, CENSUS),
}
COMPARATEUR_EXTRACT = FIXTURES / "insee" / "base_cc_comparateur_extrait.csv"


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


@pytest.fixture
def meta_conn():
    """An empty in-memory warehouse with the tables the pipeline maintains (schema.sql)."""
    connection = duckdb.connect()
    connection.execute(read_sql("schema.sql"))
    yield connection
    connection.close()


@pytest.fixture
def conn(registry):
    """An in-memory warehouse prepared as a refresh prepares its candidate."""
    connection = duckdb.connect()
    load.prepare(connection, registry)
    yield connection
    connection.close()


def raw_file(source_id: str, path: Path, millesime: int) -> RawFile:
    return RawFile(
        source_id,
        f"https://example.invalid/{source_id}",
        millesime,
        sha256_of(path),
        path.stat().st_size,
        "2026-01-06T00:00:00+00:00",
        path.name,
    )


def load_file(conn, registry: Registry, source_id: str, path: Path, millesime: int):
    """Load one file into raw the way a refresh does (tasks/sources/load.py)."""
    source = registry.sources[source_id]
    return load.load_source(conn, source, [(raw_file(source_id, path, millesime), path)])


def build_models(conn, *names: str) -> dict[str, int]:
    """Build the named models (all of them when none is named), in dependency order."""
    every = models.discover()
    counts = models.build(conn, [m for m in every if not names or m.name in names])
    # models.build ends on execute().fetchone(), which leaves an unfinished result that
    # makes the next relation (conn.table, conn.sql) fail on DuckDB 2.0 (field notes).
    conn.execute("select 1").fetchall()
    return counts


def real_communes(*codes: str) -> list[dict]:
    """Records of the real COG 2026 communes.json (all of them when no code is given)."""
    records = json.loads(SAMPLE_FILES["cog_communes"][0].read_text(encoding="utf-8"))
    return [r for r in records if not codes or r["code"] in codes]


def real_epcis(*members: str) -> list[dict]:
    """The real EPCI of COG 2026 that have one of `members`, with those members only
    (every EPCI, whole, when none is given)."""
    records = json.loads(SAMPLE_FILES["cog_epci"][0].read_text(encoding="utf-8"))
    if not members:
        return records
    kept = []
    for epci in records:
        mine = [m for m in epci["membres"] if m["code"] in members]
        if mine:
            kept.append({**epci, "membres": mine})
    return kept


def mel_members() -> list[str]:
    """The codes of the MEL's member communes in the real epci.json (COG 2026)."""
    return sorted(m["code"] for e in real_epcis() if e["code"] == MEL for m in e["membres"])


# A tiny référentiel cut from the real sample: two MEL communes, one outside the MEL, and
# Lomme, associated with Lille (never a member itself).
TINY_COMMUNES = ("59350", "59522", "59001", "59355")


def load_tiny_referential(conn, registry: Registry, folder: Path) -> None:
    extracts = {
        "cog_communes": real_communes(*TINY_COMMUNES),
        "cog_epci": real_epcis(*TINY_COMMUNES),
    }
    for source_id, records in extracts.items():
        path = folder / f"{source_id}.json"
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        load_file(conn, registry, source_id, path, COG)
    load.record_execution(conn, registry, None, COG)


@pytest.fixture
def communes_mart(conn, registry, tmp_path):
    """`marts.communes` built by the real models from a four-code extract of the samples."""
    load_tiny_referential(conn, registry, tmp_path)
    build_models(conn, "stg_cog_communes", "stg_cog_epci", "int_communes", "communes")
    return conn


def load_samples(conn, registry: Registry) -> None:
    for source_id, (path, millesime) in SAMPLE_FILES.items():
        load_file(conn, registry, source_id, path, millesime)
    load.record_execution(conn, registry, None, COG)


@pytest.fixture(scope="session")
def raw_warehouse_template(tmp_path_factory, registry) -> Path:
    """A warehouse file holding the raw tables of every real sample file, no model built.
    Built once; never written after (copy it with `copy_warehouse`)."""
    path = tmp_path_factory.mktemp("brut") / "opendata.duckdb"
    with duckdb.connect(str(path)) as connection:
        load.prepare(connection, registry)
        load_samples(connection, registry)
    return path


@pytest.fixture(scope="session")
def built_warehouse_template(tmp_path_factory, raw_warehouse_template) -> Path:
    """The same warehouse with every model built: what a refresh of the samples serves."""
    path = tmp_path_factory.mktemp("construit") / "opendata.duckdb"
    shutil.copyfile(raw_warehouse_template, path)
    with duckdb.connect(str(path)) as connection:
        build_models(connection)
    return path


def copy_warehouse(template: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return target


@pytest.fixture
def warehouse(tmp_path, built_warehouse_template) -> Path:
    """A private copy of the built sample warehouse, as the one in service."""
    return copy_warehouse(built_warehouse_template, tmp_path / "entrepot" / "opendata.duckdb")


def scalar(connection, query: str, params=None):
    return connection.execute(query, params or []).fetchall()[0][0]


TODAY = dt.date(2026, 11, 29)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


def fiche_named(catalog: Catalog, name: str) -> Fiche:
    return next(fiche for fiche in catalog.fiches if fiche.name == name)


def publication_request(
    catalog: Catalog,
    registry: Registry,
    folder: Path,
    fiche: str = "communes",
    perimetre: str = "mel",
    organisation: str | None = None,
) -> Request:
    return Request(
        fiche_named(catalog, fiche),
        catalog.perimetres[perimetre],
        organisation,
        registry,
        folder,
        TODAY,
        shared_columns=catalog.colonnes,
    )


@pytest.fixture
def prepared(communes_mart, catalog, registry, tmp_path) -> Prepared:
    """The communes fiche for the MEL, prepared from the tiny mart, never published."""
    request = publication_request(catalog, registry, tmp_path / "publication")
    return prepare(communes_mart, request, {}, None)


# Subsidies: the sample documents of Sailly-lez-Lannoy (samples/subventions/, FICTITIOUS
# associations, amounts and identifiers, in the real layouts) ------------------------------
SUBSIDIES = PROJECT_ROOT / "samples" / "subventions" / "59522"
# The SIRET of the siège of SIREN 215905225 in the recorded (fictitious) API answers.
SIRET_SAILLY = "21590522500011"


def sample_readings(*names: str) -> list[Reading]:
    return [read_document(SUBSIDIES / "documents" / name) for name in names]


def sample_beneficiaries() -> dict[str, Beneficiary]:
    """Who each spelling designates, from the officer's answers of the sample."""
    path = SUBSIDIES / "reponses" / "identifiants.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        return {
            row["graphie"]: Beneficiary(row["nom_retenu"], row["siret"] or None, row["rna"] or None)
            for row in csv.DictReader(f, delimiter=";")
        }


@pytest.fixture(scope="session")
def subsidies_config():
    return load_config()


@pytest.fixture(scope="session")
def scdl_columns(subsidies_config) -> list[str]:
    return scdl.fields(subsidies_config.schema_path)


def subsidy_rows(config, columns: list[str], readings: list[Reading]) -> list[Row]:
    commune = config.commune("59522")
    return scdl.rows(readings, sample_beneficiaries(), commune, SIRET_SAILLY, columns)
