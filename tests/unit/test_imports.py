"""Importing a past millésime from a file on disk (tasks/sources/imports.py), with the
real comparateur RP 2018 of all France; then fetching the source loads it too."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pytest

from tasks.core.errors import ConfigurationError, InvalidData, InvalidFormat, LayoutChanged
from tasks.core.settings import Settings
from tasks.sources import extract, imports
from tasks.sources.client import SourceClient
from tasks.sources.raw_store import RawStore, sha256_of
from tests.conftest import SAMPLES

RP2018 = (
    Path(__file__).resolve().parents[2]
    / "samples/reference/base_cc_comparateur_RP2018_FRANCE_csv.zip"
)
TODAY = dt.date(2026, 11, 29)


@pytest.fixture
def store(tmp_path) -> RawStore:
    return RawStore(tmp_path / "raw")


@pytest.fixture
def comparateur(registry):
    return registry.sources["insee_comparateur"]


def test_an_imported_file_is_kept_whole_with_its_sha256(store, comparateur):
    raw = imports.import_file(store, comparateur, RP2018, 2018)
    assert (raw.source_id, raw.millesime, raw.url) == (
        "insee_comparateur",
        2018,
        "import:base_cc_comparateur_RP2018_FRANCE_csv.zip",
    )
    assert raw.sha256 == sha256_of(RP2018) and store.file(raw).read_bytes() == RP2018.read_bytes()
    assert store.rows() == [raw]
    assert RP2018.exists()  # the officer's file is copied, never moved
    # the same file again is not kept twice
    assert imports.import_file(store, comparateur, RP2018, 2018) == raw
    assert len(store.rows()) == 1


def test_a_file_of_another_millesime_is_refused_in_french(store, comparateur):
    with pytest.raises(InvalidData) as error:
        imports.import_file(store, comparateur, RP2018, 2019)
    assert "le fichier contient le millésime 2018, pas le millésime 2019 annoncé" in (
        error.value.message
    )
    assert "--millesime 2018" in error.value.message
    assert not store.rows()


def test_a_file_missing_a_column_of_its_edition_is_refused_naming_it(store, comparateur, tmp_path):
    with zipfile.ZipFile(RP2018) as archive:
        text = archive.read("base_cc_comparateur.CSV").decode("utf-8")
    damaged = tmp_path / "comparateur.zip"
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("base_cc_comparateur.CSV", text.replace(";P13_POP;", ";P13POP;", 1))
    with pytest.raises(LayoutChanged) as error:
        imports.import_file(store, comparateur, damaged, 2018)
    assert "P13_POP" in error.value.message and "millésime 2018" in error.value.message
    assert not store.rows()


def test_an_html_page_saved_instead_of_the_zip_is_refused(store, comparateur, tmp_path):
    page = tmp_path / "base_cc_comparateur_csv.zip"
    page.write_text("<!DOCTYPE html><html><body>Maintenance</body></html>", encoding="utf-8")
    with pytest.raises(InvalidFormat) as error:
        imports.import_file(store, comparateur, page, 2018)
    assert "page HTML" in error.value.message


def test_a_missing_file_or_a_source_that_is_downloaded_only_is_refused(store, registry):
    with pytest.raises(ConfigurationError) as error:
        imports.import_file(store, registry.sources["insee_comparateur"], Path("absent.zip"), 2018)
    assert "fichier introuvable" in error.value.message
    with pytest.raises(ConfigurationError) as error:
        imports.import_file(store, registry.sources["cog_communes"], RP2018, 2018)
    assert "ne s'importe pas" in error.value.message


def test_a_fetch_of_the_source_brings_the_imported_millesime_beside_the_download(
    store, comparateur, tmp_path
):
    imports.import_file(store, comparateur, RP2018, 2018)
    client = SourceClient(Settings.from_env({"OPENDATA_MIRROR": str(SAMPLES)}))
    newest = extract.Millesimes(recensement=None, cog=None, today=TODAY)
    fetched = extract.fetch(client, store, comparateur, newest)
    assert [(f.raw.millesime, f.status) for f in fetched] == [
        (2022, extract.DOWNLOADED),
        (2018, imports.IMPORTED),
    ]
    # --millesime 2022 asks for that one only
    asked = extract.Millesimes(recensement=2022, cog=None, today=TODAY)
    assert [f.raw.millesime for f in extract.fetch(client, store, comparateur, asked)] == [2022]
    # a kept file that disappeared is no longer offered
    shutil.rmtree(store.root / "insee_comparateur" / "2018")
    assert [f.raw.millesime for f in extract.fetch(client, store, comparateur, newest)] == [2022]
