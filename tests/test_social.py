"""CAF (data.caf.fr) and Observatoire des territoires, end to end through the HTTP mirror.

Every CAF and Observatoire value here is SYNTHETIC (tests/social_fixtures.py), in the
real layouts: no real extract is available offline."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.yearly_refresh import yearly_refresh
from tasks.core.errors import InvalidData, InvalidFormat, LayoutChanged, SourceUnavailable
from tasks.sources import indicators
from tasks.sources.mirror import mirror_relative_path
from tasks.sources.registry import load_registry
from tests.census_fixtures import PARIS, mel_codes
from tests.mirror_server import Scripted
from tests.social_fixtures import (
    CAF_YEARS,
    caf_prestations_rows,
    menages,
    ods_csv,
    odt_csv,
    odt_path,
    odt_rows,
    odt_value,
    odt_xlsx,
    write_caf,
)

SOCIAL = ["caf_prestations", "caf_rsa_types", "odt_indicateurs"]
# Every model reads the référentiel and the comparateur (not facultative).
BASE = ["insee_comparateur"]  # with the national reference (`referentiel`)


def query(warehouse: Path, sql: str, params=None):
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def odt_source():
    return load_registry().sources["odt_indicateurs"]


def indicateur(code: str):
    return next(item for item in odt_source().indicateurs if item.code == code)


# --- The run, end to end -------------------------------------------------------------


@pytest.fixture
def social_run(full_run):
    """The complete refresh of the session (census, CAF, Observatoire fixtures)."""
    return full_run


def test_the_caf_export_is_dated_from_its_data_and_every_year_is_kept(social_run):
    summary, warehouse = social_run
    # The millésime is the newest December in `dtreffre`, not the census year.
    assert query(
        warehouse,
        "select source_id, millesime, lignes from meta.chargements "
        "where source_id like 'caf_%' order by 1",
    ) == [("caf_prestations", 2024, len(caf_prestations_rows())), ("caf_rsa_types", 2024, 704)]
    assert query(
        warehouse,
        "select annee, count(*) from marts.caf_prestations where is_mel group by 1 order by 1",
    ) == [(year, 95) for year in CAF_YEARS]
    assert "caf_prestations, millésime 2024 : téléchargé" in summary.text()
    assert "data/outputs/caf_prestations.csv" in summary.text()


def test_caf_conventions_pseudo_codes_arrondissements_and_rounding(social_run):
    _, warehouse = social_run
    # Unlocated households and pre-2016 pseudo-codes are kept, without a commune.
    assert query(
        warehouse,
        "select type_code, annee, foyers_allocataires from intermediate.int_caf_prestations "
        "where code_commune is null order by annee",
    ) == [("non localisé", year, 35.0) for year in CAF_YEARS]
    assert query(
        warehouse,
        "select code_origine, type_code from intermediate.int_caf_rsa_types "
        "where code_commune is null order by 1",
    ) == [("99999", "étranger"), ("XXXXX", "commune inconnue")]
    # Paris comes by arrondissement only: the mart adds its 20 arrondissements once.
    rows = [r for r in caf_prestations_rows() if r["dtreffre"] == "2024-12"]
    paris = sum(int(r["indfoy_ndur"]) for r in rows if r["numcomdo"] in PARIS[1:])
    assert query(
        warehouse,
        "select foyers_allocataires, length(codes_origine) - length(replace(codes_origine, "
        "' ', '')) + 1 from marts.caf_prestations where code_commune = '75056' and annee = 2024",
    ) == [(paris, 20)]
    assert query(
        warehouse,
        "select count(*) from marts.caf_prestations where code_commune like '751%' "
        "and code_commune <> '75056'",
    ) == [(0,)]
    # Codes stay text: 01001 keeps its leading zero. Counts are integers, rounded to 5.
    assert query(
        warehouse, "select count(*) from marts.caf_prestations where code_commune = '01001'"
    ) == [(len(CAF_YEARS),)]
    assert query(warehouse, "select bool_and(arrondis_respectes) from marts.caf_prestations") == [
        (True,)
    ]


def test_caf_rates_use_the_census_millesime_closest_to_the_year(social_run):
    _, warehouse = social_run
    found = query(
        warehouse,
        "select annee, millesime_menages, foyers_allocataires, taux_foyers_allocataires, "
        "foyers_rsa_majore, part_rsa_majore from marts.caf_prestations "
        "where code_commune = '59522' order by annee",
    )
    assert [(annee, millesime) for annee, millesime, *_ in found] == [
        (2020, 2021),  # before the first census millésime loaded: the closest, newer
        (2021, 2021),
        (2022, 2022),
        (2023, 2022),
        (2024, 2022),
    ]
    for annee, millesime, foyers, taux, majore, part in found:
        households = menages("59522", millesime)
        assert taux == round(100 * foyers / households, 1), annee
        assert majore is not None and 0 <= part <= 100


def test_observatoire_xlsx_and_csv_with_their_conventions(social_run):
    _, warehouse = social_run
    assert query(
        warehouse,
        "select code_indicateur, count(distinct code_commune) filter (where is_mel) "
        "from marts.observatoire group by 1 order by 1",
    ) == [(item.code, 95) for item in sorted(odt_source().indicateurs, key=lambda i: i.code)]
    sailly = dict(
        ((code, sexe, annee), (valeur, raison))
        for code, sexe, annee, valeur, raison in query(
            warehouse,
            "select code_indicateur, sexe, annee, valeur, raison_absence "
            "from marts.observatoire where code_commune = '59522'",
        )
    )
    # -9999 and empty cells are NULL with their reason, never 0.
    assert sailly[("part_75p_seuls", "hommes", 2022)] == (None, "non classée (-9999)")
    assert sailly[("tx_mort", "ensemble", 2016)][0] is None
    assert "secret" in sailly[("tx_mort", "ensemble", 2016)][1]
    # XLSX: long format, one row per sex; banner rows are never data.
    assert sailly[("part_75p_seuls", "femmes", 2022)][0] is not None
    assert query(
        warehouse, "select count(*) from raw.odt_indicateurs where codgeo not similar to '\\d.*'"
    ) == [(0,)]
    # CSV: the last year only, which the file does not name; decimal comma read.
    assert sailly[("part_immigres", "ensemble", None)][0] is None
    lille = query(
        warehouse,
        "select annee, valeur from marts.observatoire where code_indicateur = 'part_immigres' "
        "and code_commune = '59350'",
    )
    expected = round(odt_value("part_immigres", "59350", None, "ensemble"), 1)
    written = f"59350;Commune 59350;{expected}".replace(".", ",")
    assert written in odt_csv("part_immigres").decode()  # a decimal comma in the file
    assert lille == [(None, expected)]
    # The change of a share since the previous year, in points.
    assert sailly[("part_fam_mono", "ensemble", 2022)][0] == 17.8
    assert query(
        warehouse,
        "select evolution from marts.observatoire where code_commune = '59522' "
        "and code_indicateur = 'part_fam_mono' and annee = 2022",
    ) == [(-0.2,)]


def test_observatoire_indicators_are_compared_with_the_census(social_run):
    summary, warehouse = social_run
    compared = dict(
        query(
            warehouse,
            "select indicateur_insee, count(*) from marts.observatoire "
            "where valeur_insee is not null and is_mel group by 1",
        )
    )
    # Every census millésime both sides have: 2021 and 2022 for families and vacant
    # dwellings, 2022 for the ageing index and the mortality rate (the census files).
    assert compared == {
        "familles.part_familles_monoparentales": 190,
        "logement.part_logements_vacants": 190,
        "population.indice_vieillissement": 95,
        "population.taux_mortalite": 95,
    }
    check = [o for o in summary.outcomes if o.mart == "observatoire" and o.column == "ecart_insee"]
    assert len(check) == 1 and check[0].success and check[0].severity == "warning"


# --- Bad input -------------------------------------------------------------------------


@pytest.mark.usefixtures("prefect_api")
def test_an_unknown_indicator_fails_alone_and_keeps_its_previous_values(workspace, mirror):
    yearly_refresh(sources=[*BASE, *SOCIAL])
    warehouse = workspace / "entrepot" / "opendata.duckdb"
    before = query(
        warehouse,
        "select count(*) from raw.odt_indicateurs where indicateur = 'part_log_vac'",
    )[0][0]
    assert before > 0

    # The portal answers HTTP 500 for an indicator code it does not know (every retry),
    # and an HTML page for another; the census comparison now disagrees for Sailly.
    source = odt_source()
    unknown = mirror_relative_path(source.indicator_url(indicateur("part_log_vac")))
    mirror.script(unknown, *[Scripted(500, b"Internal Server Error")] * 3)
    odt_path(mirror.root, "part_75p_seuls").write_bytes(b"<!DOCTYPE html><html>maintenance")
    rows = [
        [*row[:-1], 95.0] if row[0] == "59522" and row[2] == 2022 else row
        for row in odt_rows("ind_vieill")
    ]
    odt_path(mirror.root, "ind_vieill").write_bytes(odt_xlsx("ind_vieill", rows))

    with pytest.raises(SourceUnavailable) as error:
        yearly_refresh(sources=[*BASE, *SOCIAL, "insee_evol_struct_pop"])
    message = error.value.message
    assert "2 indicateur(s) non chargé(s)" in message
    assert "indicateur part_log_vac" in message and "HTTP 500" in message
    assert "indicateur part_75p_seuls" in message and "page HTML" in message
    # Each failure says what and where, never "nothing was loaded": the others were.
    assert "n'ont pas été modifiés" not in message and "Rien n'a été chargé" not in message
    # The others loaded; the failed ones keep their previous rows.
    assert query(
        warehouse,
        "select count(*) from raw.odt_indicateurs where indicateur = 'part_log_vac'",
    ) == [(before,)]
    assert query(
        warehouse,
        "select valeur, ecart_insee from marts.observatoire where code_commune = '59522' "
        "and code_indicateur = 'ind_vieill' and annee = 2022",
    ) == [(95.0, 9.3)]
    # The disagreement with the census is reported, naming the commune, without blocking.
    failed = query(
        warehouse,
        "select gravite, exemples from meta.validations where mart = 'observatoire' "
        "and colonne = 'ecart_insee' and not succes",
    )
    assert failed and failed[-1][0] == "warning"
    assert "59522 Sailly-lez-Lannoy : 9.3" in failed[-1][1]


@pytest.mark.usefixtures("prefect_api")
def test_an_ods_export_with_a_renamed_column_is_refused_naming_it(workspace, mirror_dir):
    rows = caf_prestations_rows()
    renamed = [
        {("indfoy_rsa_total" if k == "indfoy_rsa" else k): v for k, v in r.items()} for r in rows
    ]
    write_caf(mirror_dir, "caf_prestations", ods_csv(renamed))
    with pytest.raises(LayoutChanged) as error:
        yearly_refresh(sources=[*BASE, "caf_prestations"])
    assert "indfoy_rsa" in error.value.message
    assert "s_ben_com_f" in error.value.message
    assert not (workspace / "entrepot" / "opendata.duckdb").exists()


@pytest.mark.usefixtures("prefect_api")
def test_an_empty_ods_export_is_refused_and_nothing_changes(workspace, mirror_dir):
    yearly_refresh(sources=[*BASE, "caf_prestations"])
    warehouse = workspace / "entrepot" / "opendata.duckdb"
    before = query(warehouse, "select count(*), max(annee) from marts.caf_prestations")
    columns = list(caf_prestations_rows()[0])
    write_caf(mirror_dir, "caf_prestations", ods_csv([], columns))
    with pytest.raises(InvalidData) as error:
        yearly_refresh(sources=[*BASE, "caf_prestations"])
    assert "aucune ligne datée (0 ligne(s), colonne dtreffre" in error.value.message
    assert query(warehouse, "select count(*), max(annee) from marts.caf_prestations") == before


# --- Reading the Observatoire's files (no flow) -------------------------------------


def test_the_xlsx_layout_is_read_below_its_banner(tmp_path):
    path = tmp_path / "export"
    path.write_bytes(odt_xlsx("part_75p_seuls"))
    url = odt_source().indicator_url(indicateur("part_75p_seuls"))
    rows = indicators.read_rows(path, odt_source(), indicateur("part_75p_seuls"), url)
    assert rows[0][:4] == [mel_codes()[0], f"Commune {mel_codes()[0]}", "2022", "Hommes"]
    assert {row[3] for row in rows} == {"Hommes", "Femmes", "Ensemble"}
    assert all(row[4] == "part_75p_seuls" for row in rows)
    assert ["59522", "Commune 59522", "2022", "Hommes", "part_75p_seuls", "-9999"] in rows


def test_a_renamed_value_column_names_the_indicator(tmp_path):
    path = tmp_path / "export"
    path.write_bytes(odt_xlsx("ind_vieill", header=["codgeo", "libgeo", "an", "indice"]))
    url = odt_source().indicator_url(indicateur("ind_vieill"))
    with pytest.raises(LayoutChanged) as error:
        indicators.read_rows(path, odt_source(), indicateur("ind_vieill"), url)
    assert "absente(s) pour l'indicateur ind_vieill : ind_vieill" in error.value.message
    assert "colonnes lues : codgeo, libgeo, an, indice" in error.value.message


def test_an_empty_indicator_export_is_refused(tmp_path):
    path = tmp_path / "export"
    path.write_bytes(odt_xlsx("ind_vieill", rows=[]))
    url = odt_source().indicator_url(indicateur("ind_vieill"))
    with pytest.raises(InvalidFormat) as error:
        indicators.read_rows(path, odt_source(), indicateur("ind_vieill"), url)
    assert "ne contient aucune ligne" in error.value.message
