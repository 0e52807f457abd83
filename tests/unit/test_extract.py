"""Fetching one source (tasks/sources/extract.py), from a local folder mirror of the real
sample files: the millésime read, the file kept or refused, indicators that failed."""

from __future__ import annotations

import datetime as dt

import pytest

from tasks.core.errors import ConfigurationError, InvalidData, SourceUnavailable
from tasks.core.settings import Settings
from tasks.sources import extract
from tasks.sources.client import SourceClient
from tasks.sources.raw_store import RawStore, sha256_of
from tests.conftest import SAMPLES
from tests.unit.conftest import CENSUS, SAMPLE_FILES

TODAY = dt.date(2026, 11, 29)
NEWEST = extract.Millesimes(recensement=None, cog=None, today=TODAY)


@pytest.fixture
def client(tmp_path) -> SourceClient:
    settings = Settings.from_env(
        {"OPENDATA_MIRROR": str(SAMPLES), "OPENDATA_DATA_DIR": str(tmp_path)}
    )
    return SourceClient(settings)


@pytest.fixture
def store(tmp_path) -> RawStore:
    return RawStore(tmp_path / "raw")


def fetch(client, store, registry, source_id: str, millesimes=NEWEST):
    source = registry.sources[source_id]
    return extract.fetch(client, store, source, millesimes)


def test_a_cog_source_is_kept_under_the_newest_known_vintage(client, store, registry):
    [fetched] = fetch(client, store, registry, "cog_communes")
    assert fetched.status == extract.DOWNLOADED
    assert fetched.raw.millesime == 2026 == max(registry.sources["cog_communes"].urls_by_millesime)
    assert "@6.0.0/" in fetched.raw.url
    sample = SAMPLE_FILES["cog_communes"][0]
    assert fetched.raw.sha256 == sha256_of(sample)
    assert store.file(fetched.raw).read_bytes() == sample.read_bytes()
    assert store.rows() == [fetched.raw]


def test_the_same_content_again_is_not_kept_twice(client, store, registry):
    [first] = fetch(client, store, registry, "cog_epci")
    [again] = fetch(client, store, registry, "cog_epci")
    assert again.status == extract.SAME_CONTENT
    assert again.raw == first.raw
    assert len(store.rows()) == 1


def test_an_older_cog_reads_its_own_package_version(client, store, registry):
    asked = extract.Millesimes(recensement=None, cog=2024, today=TODAY)
    [fetched] = fetch(client, store, registry, "cog_communes", asked)
    assert fetched.raw.millesime == 2024 and "@4.1.0/" in fetched.raw.url


def test_the_newest_movements_file_serves_an_older_cog(client, store, registry):
    asked = extract.Millesimes(recensement=None, cog=2022, today=TODAY)
    [fetched] = fetch(client, store, registry, "cog_mouvements", asked)
    assert fetched.raw.millesime == 2026  # the file of 2026 lists every change before it
    assert "cumulatif" in fetched.discovered.origine


@pytest.mark.parametrize("year", [2020, 2027])
def test_a_cog_year_with_no_address_is_refused_in_french(client, store, registry, year):
    asked = extract.Millesimes(recensement=None, cog=year, today=TODAY)
    with pytest.raises(ConfigurationError) as error:
        fetch(client, store, registry, "cog_communes", asked)
    message = error.value.message
    assert f"aucune adresse connue pour le COG {year} de la source cog_communes" in message
    assert "COG connus : 2021, 2022, 2023, 2024, 2025, 2026" in message
    assert f"« {year}: <adresse> »" in message and "@6.0.0/data/communes.json" in message
    assert not store.rows()


def test_the_default_cog_is_never_a_future_year(registry):
    source = registry.sources["cog_communes"]
    in_2025 = extract.Millesimes(recensement=None, cog=None, today=dt.date(2025, 3, 1))
    in_2031 = extract.Millesimes(recensement=None, cog=None, today=dt.date(2031, 1, 2))
    assert extract.cog_year(source, in_2025) == 2025
    assert extract.cog_year(source, in_2031) == 2026  # newest known address


def test_the_census_millesime_is_read_in_the_header(client, store, registry):
    [fetched] = fetch(client, store, registry, "insee_comparateur")
    assert fetched.raw.millesime == CENSUS  # P22_POP, not P16_POP


def test_a_millesime_not_yet_published_is_refused_and_the_file_set_aside(client, store, registry):
    asked = extract.Millesimes(recensement=CENSUS + 1, cog=None, today=TODAY)
    with pytest.raises(InvalidData) as error:
        fetch(client, store, registry, "insee_comparateur", asked)
    message = error.value.message
    assert (
        f"le fichier publié contient le millésime {CENSUS}, pas le millésime {CENSUS + 1} demandé"
        in message
    )
    assert "fichier reçu conservé" in message
    assert store.rows() == []  # nothing in the raw area proper
    kept = list((store.root / "_rejets" / "insee_comparateur").iterdir())
    assert len(kept) == 1 and str(kept[0]) in message
    assert not list((store.root / "_en_cours").iterdir())


def test_a_failed_indicator_is_reported_and_the_others_still_tried(client, store, registry):
    source = registry.sources["odt_indicateurs"]
    fetched = fetch(client, store, registry, "odt_indicateurs")  # not in the sample mirror
    assert [f.indicateur for f in fetched] == [i.code for i in source.indicateurs]
    for item, indicateur in zip(fetched, source.indicateurs, strict=True):
        assert item.raw is None and item.status.startswith("en échec : ")
        assert item.error.startswith(
            f"indicateur {indicateur.code} ({indicateur.libelle}) : Source injoignable ou en "
            "erreur : le fichier miroir de "
        )
    with pytest.raises(SourceUnavailable) as error:
        extract.enforce_complete(fetched)
    message = error.value.message
    assert f"{len(fetched)} indicateur(s) non chargé(s) ; les autres indicateurs" in message
    assert "  Où : odt_indicateurs" in message
    for item in fetched:
        # each failure on its own indented line, its own "Où" under it
        first, where = item.error.split("\n")
        assert f"    - {first}" in message and f"      {where.strip()}" in message


def test_a_run_without_failed_indicator_is_complete(client, store, registry):
    extract.enforce_complete(fetch(client, store, registry, "cog_epci"))
    extract.enforce_complete([])
