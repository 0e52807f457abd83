"""The census themes: discovery of the millésime, the quirks of the files, the geography
of the run, the marts and their suites. Census values are SYNTHETIC
(tests/census_fixtures.py), in the real layouts; one test reads a real INSEE extract."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile
from pathlib import Path

import duckdb
import pytest

from flows.yearly_refresh import yearly_refresh
from tasks.core.errors import ConfigurationError, InvalidData, LayoutChanged, QualityGateFailed
from tasks.core.settings import Settings
from tasks.sources import load
from tasks.sources.client import SourceClient
from tasks.sources.discovery import Catalogues, discover
from tasks.sources.mirror import mirror_relative_path
from tasks.sources.raw_store import RawFile
from tasks.sources.registry import REGISTRY_PATH, load_registry
from tests.census_fixtures import (
    CATALOGUE_URL,
    base_cc_values,
    census_years,
    mel_codes,
    population,
    write_base_cc,
    write_catalogue,
    write_serie_historique,
)
from tests.conftest import FIXTURES
from tests.mirror_server import Scripted

# The census marts also read the comparateur (its counts fill what no base-cc file has).
BASE = ["insee_comparateur"]  # with the national reference (`referentiel`)


def query(warehouse: Path, sql: str, params=None):
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def catalogues() -> Catalogues:
    registry = load_registry()
    return Catalogues(SourceClient(Settings.from_env()), registry)


# --- Discovery ---------------------------------------------------------------------


def test_the_catalogue_gives_the_newest_millesime_and_the_melodi_file(workspace, mirror_dir):
    source = load_registry().sources["insee_serie_historique"]
    found = discover(source, catalogues(), None)
    assert (found.millesime, found.annonce) == (2022, 2022)
    assert found.url.endswith("/DS_RP_SERIE_HISTORIQUE/DS_RP_SERIE_HISTORIQUE_2022_CSV_FR")
    assert "catalogue melodi, jeu DS_RP_SERIE_HISTORIQUE" in found.origine

    write_catalogue(mirror_dir, {"DS_RP_SERIE_HISTORIQUE": 2023})
    found = discover(source, catalogues(), None)
    assert found.millesime == 2023
    assert found.url.endswith("/DS_RP_SERIE_HISTORIQUE_2023_CSV_FR")


def test_a_year_announced_without_a_known_address_keeps_the_newest_known(workspace, mirror_dir):
    write_catalogue(mirror_dir, {"DS_RP_LOGEMENT_PRINC": 2023})
    found = discover(load_registry().sources["insee_logement"], catalogues(), None)
    assert (found.millesime, found.annonce) == (2022, 2023)
    assert found.url.endswith("base-cc-logement-2022_csv.zip")
    assert "annonce le millésime 2023" in found.avertissement
    assert "`urls` de insee_logement" in found.avertissement


def test_an_unreadable_catalogue_falls_back_to_the_registry(workspace, mirror):
    mirror.script(
        mirror_relative_path(CATALOGUE_URL),
        Scripted(200, b"<!doctype html><title>Maintenance</title>"),
    )
    found = discover(load_registry().sources["insee_familles"], catalogues(), None)
    assert found.millesime == 2022
    assert found.url.endswith("base-cc-coupl-fam-men-2022_csv.zip")
    assert "catalogue melodi indisponible" in found.origine


def test_a_millesime_without_an_address_is_refused_in_french(workspace):
    with pytest.raises(ConfigurationError) as error:
        discover(load_registry().sources["insee_evol_struct_pop"], catalogues(), 2019)
    assert "aucune adresse connue pour le millésime 2019" in error.value.message
    assert "millésimes connus : 2022" in error.value.message


@pytest.mark.usefixtures("prefect_api")
def test_a_new_millesime_in_the_catalogue_is_picked_up_with_no_code_change(workspace, mirror_dir):
    registry_before = hashlib.sha256(REGISTRY_PATH.read_bytes()).hexdigest()
    warehouse = workspace / "entrepot" / "opendata.duckdb"
    yearly_refresh(sources=[*BASE, "insee_serie_historique"])
    assert query(warehouse, "select distinct millesime from marts.serie_historique") == [(2022,)]

    # INSEE publishes 2023: the catalogue announces it, its product is online. Here
    # the births and deaths carry the end year only, the other form of TIME_PERIOD.
    write_serie_historique(mirror_dir, 2023, period_style="year")
    write_catalogue(mirror_dir, {"DS_RP_SERIE_HISTORIQUE": 2023})
    summary = yearly_refresh(sources=[*BASE, "insee_serie_historique"])

    assert "insee_serie_historique : millésime 2023 (catalogue melodi" in summary.text()
    assert query(warehouse, "select distinct millesime from marts.serie_historique") == [(2023,)]
    assert query(
        warehouse,
        "select millesime, origine like 'catalogue melodi%' from meta.decouvertes "
        "where source_id = 'insee_serie_historique' order by decouvert_le",
    ) == [(2022, True), (2023, True)]
    years = [
        row[0]
        for row in query(
            warehouse,
            "select annee from marts.serie_historique where code_commune = '59522' order by annee",
        )
    ]
    assert years == census_years(2023)
    # the period of the 2023 deaths runs from the previous census year (2017)
    deaths, rate, previous = query(
        warehouse,
        "select deces, taux_mortalite, annee_precedente from marts.serie_historique "
        "where code_commune = '59522' and annee = 2023",
    )[0]
    pops = {y: population("59522", 2016) * (0.7 + 0.3 * i / 7) for i, y in enumerate(years)}
    assert previous == 2017
    assert rate == pytest.approx(1000 * deaths / 6 / ((pops[2017] + pops[2023]) / 2), abs=0.01)
    assert hashlib.sha256(REGISTRY_PATH.read_bytes()).hexdigest() == registry_before


# --- The marts, end to end -----------------------------------------------------------


@pytest.fixture
def census_run(full_run):
    """The complete refresh of the session (census, CAF, Observatoire fixtures)."""
    return full_run


def test_every_registered_millesime_is_loaded_and_prefixes_follow_the_year(census_run):
    summary, warehouse = census_run
    assert query(
        warehouse,
        "select source_id, millesime from meta.chargements where source_id like 'insee_%' "
        "and source_id <> 'insee_comparateur' order by 1, 2",
    ) == [
        ("insee_evol_struct_pop", 2022),
        ("insee_familles", 2021),
        ("insee_familles", 2022),
        ("insee_filosofi", 2019),
        ("insee_filosofi", 2021),
        ("insee_logement", 2021),
        ("insee_logement", 2022),
        ("insee_populations_legales", 2023),
        ("insee_serie_historique", 2022),
    ]
    assert query(
        warehouse,
        "select millesime, code_indicateur from ref.variables "
        "where source_id = 'insee_logement' and variable = 'logements' order by 1",
    ) == [(2021, "P21_LOG"), (2022, "P22_LOG")]
    text = summary.text()
    assert "insee_logement : millésime 2021 (millésime antérieur ; registre)" in text
    for mart in ("population", "familles", "logement", "serie_historique"):
        assert f"data/outputs/{mart}.csv" in text


def test_the_marts_have_the_95_mel_communes_per_millesime(census_run):
    _, warehouse = census_run
    for mart in ("population", "familles", "logement"):
        counts = query(
            warehouse,
            f"select millesime, count(*) from marts.{mart} where is_mel group by 1 order by 1",
        )
        # population: 2022 from the census files, 2023 from the populations légales
        expected = [(2021, 95), (2022, 95)] if mart != "population" else [(2022, 95), (2023, 95)]
        assert counts == expected, mart


def test_masked_values_decimal_commas_and_weighted_counts(census_run):
    _, warehouse = census_run
    hlm, part_hlm, reasons, free = query(
        warehouse,
        "select rp_hlm, part_hlm, raisons_absence, rp_loges_gratuitement from marts.logement "
        "where code_commune = '59522' and millesime = 2022",
    )[0]
    assert hlm is None and part_hlm is None
    assert "rp_hlm : secret statistique" in reasons
    expected = base_cc_values("logement", "59522", 2022)
    # P22_RP_GRAT is written "52,44…" in the file: read as a number, decimals kept
    assert free == pytest.approx(expected["rp_loges_gratuitement"], abs=1e-5)
    assert free != int(free)
    assert query(warehouse, "select count(*) from marts.logement where code_commune = '01001'") == [
        (2,)
    ]


def test_merged_communes_are_added_to_their_commune_nouvelle(census_run):
    _, warehouse = census_run
    rows = dict(
        query(
            warehouse,
            "select millesime, logements from marts.logement where code_commune = '59006'",
        )
    )
    own_2021 = base_cc_values("logement", "59006", 2021)["logements"]
    absorbed_2021 = base_cc_values("logement", "59070", 2021)["logements"]
    # 2021 (geography 2024): Bermeries 59070 still has its row, added to 59006
    assert rows[2021] == pytest.approx(own_2021 + absorbed_2021, rel=1e-9)
    # 2022 (geography 2025): the empty row INSEE keeps for 59070 adds nothing
    assert rows[2022] == pytest.approx(base_cc_values("logement", "59006", 2022)["logements"])
    assert query(warehouse, "select count(*) from marts.logement where code_commune = '59070'") == [
        (0,)
    ]


def test_paris_arrondissements_are_never_counted_twice(census_run):
    _, warehouse = census_run
    assert query(
        warehouse,
        "select count(*) from marts.population where code_commune like '751%'",
    ) == [(0,)]
    assert query(
        warehouse,
        "select population from marts.population where code_commune = '75056' and millesime = 2022",
    ) == [(pytest.approx(population("75056", 2022)),)]
    legal = query(
        warehouse,
        "select population_municipale_legale, population_totale from marts.population "
        "where code_commune = '75056' and millesime = 2023",
    )
    pmun = round(population("75056", 2023))
    assert legal == [(pmun, pmun + round(pmun * 0.015))]


def test_the_indicators_follow_their_documented_definitions(census_run):
    _, warehouse = census_run
    pop = base_cc_values("evol_struct_pop", "59522", 2022)
    ageing, band_gap = query(
        warehouse,
        "select indice_vieillissement, ecart_tranches_age from marts.population "
        "where code_commune = '59522' and millesime = 2022",
    )[0]
    expected = (
        100
        * (pop["hommes_65_plus"] + pop["femmes_65_plus"])
        / (pop["hommes_0_19"] + pop["femmes_0_19"])
    )
    assert ageing == pytest.approx(expected, abs=0.05)
    assert abs(band_gap) < 1
    by_sex = query(
        warehouse,
        "select hommes_75_89, femmes_90_plus, ecart_sexes from marts.population "
        "where code_commune = '59522' and millesime = 2022",
    )[0]
    assert by_sex[:2] == (
        pytest.approx(pop["hommes_75_89"], abs=1e-5),
        pytest.approx(pop["femmes_90_plus"], abs=1e-5),
    )
    assert abs(by_sex[2]) < 1e-6
    parts = query(
        warehouse,
        "select millesime, part_familles_monoparentales, evolution_part_monoparentales "
        "from marts.familles where code_commune = '59522' order by millesime",
    )
    assert parts[0][2] is None
    assert parts[1][2] == pytest.approx(parts[1][1] - parts[0][1], abs=0.05)
    vacant, reasons = query(
        warehouse,
        "select part_logements_vacants, raisons_absence from marts.serie_historique "
        "where code_commune = '59522' and annee = 1968",
    )[0]
    assert vacant is None and "logements_vacants : non renseignée" in reasons
    assert query(
        warehouse, "select count(*) from marts.serie_historique where code_commune = '59'"
    ) == [(0,)]
    assert len(mel_codes()) == 95


@pytest.mark.usefixtures("prefect_api")
def test_a_renamed_census_column_fails_loudly_naming_it(workspace, mirror_dir):
    write_base_cc(mirror_dir, "logement", 2022, drop=("P22_RP_LOCHLMV",))
    with pytest.raises(LayoutChanged) as error:
        yearly_refresh()
    assert "P22_RP_LOCHLMV" in error.value.message
    assert "base-cc-logement-2022_csv.zip" in error.value.message
    assert not (workspace / "entrepot" / "opendata.duckdb").exists()


@pytest.mark.usefixtures("prefect_api")
def test_inconsistent_housing_totals_stop_the_gate_naming_the_commune(workspace, mirror_dir):
    write_base_cc(mirror_dir, "logement", 2022, overrides={("59522", "P{yy}_LOG"): "900.5"})
    with pytest.raises(QualityGateFailed) as error:
        yearly_refresh()
    assert "ecart_categories_logements" in error.value.message
    assert "59522 Sailly-lez-Lannoy" in error.value.message


# --- A real INSEE extract ------------------------------------------------------------


def test_the_real_logement_2021_extract_keeps_weighted_decimals_and_names_missing_columns(
    tmp_path,
):
    """`base-cc-logement-2021`, 648 real rows of the Nord (a public copy kept 10 columns)."""
    real = (FIXTURES / "insee" / "base-cc-logement-2021_subset_nord59.csv").read_bytes()
    path = tmp_path / "base-cc-logement-2021_csv.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("base-cc-logement-2021.CSV", real)
    path.write_bytes(buffer.getvalue())
    raw = RawFile(
        "insee_logement",
        "https://example.invalid/x.zip",
        2021,
        "0" * 64,
        1,
        "2026-01-01T00:00:00+00:00",
        "x",
    )
    source = load_registry().sources["insee_logement"]
    with duckdb.connect() as conn:
        load.prepare(conn, load_registry())
        with pytest.raises(LayoutChanged) as error:
            load.load_source(conn, source, [(raw, path)])
        assert "P21_RP_2P" in error.value.message and "P21_MEN_ANEM0002" in error.value.message
        assert "P21_LOG" not in error.value.message.split("absente(s) :")[1].split("(")[0]

        present = {"CODGEO", "P{yy}_LOG", "P{yy}_RP", "P{yy}_RSECOCC", "P{yy}_LOGVAC"}
        subset = dataclasses.replace(
            source, columns=tuple(c for c in source.columns if c.source in present)
        )
        report = load.load_source(conn, subset, [(raw, path)])
        assert report.rows == 648
        # 59522 Sailly-lez-Lannoy: the weighted count of the real file, not an integer
        assert conn.execute(
            "select \"P21_LOG\" from raw.insee_logement where CODGEO = '59522'"
        ).fetchall() == [("810.3216470801",)]


@pytest.mark.usefixtures("prefect_api")
def test_a_commune_twice_in_a_census_file_is_refused(workspace, mirror_dir):
    """Added up, a duplicated row would pass for a merged commune: refused, lines named."""
    source = load_registry().sources["insee_familles"]
    url = source.urls_by_millesime[2022]
    path = mirror_dir / mirror_relative_path(url)
    with zipfile.ZipFile(path) as archive:
        (name,) = archive.namelist()
        lines = archive.read(name).decode().splitlines()
    sailly = next(line for line in lines if line.startswith("59522;"))
    damaged = "\r\n".join([*lines, sailly]) + "\r\n"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, damaged)
    with pytest.raises(InvalidData) as error:
        yearly_refresh()
    assert "code(s) commune en double dans la colonne CODGEO" in error.value.message
    assert f"« 59522 » lignes {lines.index(sailly) + 1}, {len(lines) + 1}" in error.value.message
