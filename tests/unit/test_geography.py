"""The national reference and the table de passage, on the real files (no flow).

Every file here is real (samples/README.md): the @etalab/decoupage-administratif
packages of COG 2021, 2024 and 2026, INSEE's movements of communes, the comparateur
RP 2018 of all France (geography COG 2021) and Filosofi 2021 (geography COG 2024).
"""

from __future__ import annotations

import gzip
import tarfile
import zipfile
from pathlib import Path

import duckdb
import pytest

from tasks.sources import load
from tests.unit.conftest import SAMPLE_FILES, build_models, load_file

REFERENCE = Path(__file__).resolve().parents[2] / "samples" / "reference"
RP2018 = REFERENCE / "base_cc_comparateur_RP2018_FRANCE_csv.zip"
VERSIONS = {
    2021: "1.1.1",
    2022: "2.3.1",
    2023: "3.1.1",
    2024: "4.1.0",
    2025: "5.3.0",
    2026: "6.0.0",
}
ARRONDISSEMENTS = "751(0[1-9]|1[0-9]|20)|132(0[1-9]|1[0-6])|6938[1-9]"


def package_file(folder: Path, cog: int, name: str) -> Path:
    """A data file of the real package of a COG vintage, as published."""
    target = folder / f"{cog}-{name}"
    if not target.exists():
        archive = REFERENCE / f"etalab-decoupage-administratif-{VERSIONS[cog]}.tgz"
        with tarfile.open(archive) as tar:
            target.write_bytes(tar.extractfile(f"package/data/{name}").read())
    return target


def warehouse_for(registry, folder: Path, cog: int, files: dict[str, tuple[Path, int]]):
    """An in-memory warehouse of the real reference of `cog`, the movements and `files`,
    with every model built, as a refresh with `--cog` builds it."""
    conn = duckdb.connect()
    load.prepare(conn, registry)
    load_file(conn, registry, "cog_communes", package_file(folder, cog, "communes.json"), cog)
    load_file(conn, registry, "cog_epci", package_file(folder, cog, "epci.json"), cog)
    load_file(conn, registry, "cog_mouvements", *SAMPLE_FILES["cog_mouvements"])
    for source_id, (path, millesime) in files.items():
        load_file(conn, registry, source_id, path, millesime)
    load.record_execution(conn, registry, None, cog)
    build_models(conn)
    return conn


def rp2018(code: str) -> float:
    """P18_POP of a code in the real comparateur RP 2018, read with the standard library."""
    with zipfile.ZipFile(RP2018) as archive:
        text = archive.read("base_cc_comparateur.CSV").decode("utf-8")
    header, *rows = text.splitlines()
    column = header.split(";").index("P18_POP")
    return next(float(r.split(";")[column]) for r in rows if r.startswith(code + ";"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cog")


@pytest.fixture(scope="module")
def france_2026(registry, folder):
    """COG 2026, with the comparateur RP 2018 of all France (geography 2021)."""
    conn = warehouse_for(registry, folder, 2026, {"insee_comparateur": (RP2018, 2018)})
    yield conn
    conn.close()


def one(conn, sql: str, params=None):
    return conn.execute(sql, params or []).fetchall()


# --- The national reference, several vintages and regions ----------------------------


def test_the_mel_has_95_members_in_every_vintage_from_the_official_composition(registry, folder):
    for cog in VERSIONS:
        conn = duckdb.connect()
        load.prepare(conn, registry)
        load_file(conn, registry, "cog_epci", package_file(folder, cog, "epci.json"), cog)
        build_models(conn, "stg_cog_epci")
        counts = one(
            conn,
            "select count(*), any_value(nombre_membres_officiel) from staging.stg_cog_epci "
            "where code_epci = '200093201'",
        )
        assert counts == [(95, 95)], cog


def test_corsica_paris_lyon_marseille_and_overseas_in_the_2026_reference(france_2026):
    rows = one(
        france_2026,
        "select code_commune, type_commune, code_departement, code_region, zone, code_epci, "
        "code_commune_parente, is_mel from marts.communes where code_commune in "
        "('2A004', '2B033', '75056', '75101', '69381', '13201', '97101', '97501', '97611') "
        "order by code_commune, type_commune",
    )
    assert rows == [
        ("13201", "arrondissement-municipal", "13", "93", "metro", None, "13055", False),
        ("2A004", "commune-actuelle", "2A", "94", "metro", "242010056", None, False),
        ("2B033", "commune-actuelle", "2B", "94", "metro", "242000354", None, False),
        ("69381", "arrondissement-municipal", "69", "84", "metro", None, "69123", False),
        ("75056", "commune-actuelle", "75", "11", "metro", "200054781", None, False),
        ("75101", "arrondissement-municipal", "75", "11", "metro", None, "75056", False),
        ("97101", "commune-actuelle", "971", "01", "drom", "200018653", None, False),
        ("97501", "commune-actuelle", "975", "975", "com", None, None, False),
        ("97611", "commune-actuelle", "976", "06", "drom", "200060457", None, False),
    ]
    # every commune of France, the four island communes outside any EPCI aside
    assert one(
        france_2026,
        "select count(*), count(code_epci), count(*) filter (where is_mel) from marts.communes "
        "where type_commune = 'commune-actuelle' and zone <> 'com'",
    ) == [(34875, 34871, 95)]


def test_a_commune_nouvelle_of_2025_in_the_2021_and_2026_references(registry, folder):
    conn = duckdb.connect()
    load.prepare(conn, registry)
    for source_id, name in (("cog_communes", "communes.json"), ("cog_epci", "epci.json")):
        load_file(conn, registry, source_id, package_file(folder, 2021, name), 2021)
    load.record_execution(conn, registry, None, 2021)
    build_models(conn, "stg_cog_communes", "stg_cog_epci", "int_communes", "communes")
    assert one(
        conn,
        "select code_commune, nom_commune, type_commune, code_departement from marts.communes "
        "where code_commune in ('59006', '59070', '97501') order by 1",
    ) == [
        ("59006", "Amfroipret", "commune-actuelle", "59"),
        ("59070", "Bermeries", "commune-actuelle", "59"),
        # before 2022 a collectivité d'outre-mer has no département: its own code
        ("97501", "Miquelon-Langlade", "commune-actuelle", "975"),
    ]


def test_the_2026_reference_has_the_commune_nouvelle_and_its_communes_deleguees(france_2026):
    assert one(
        france_2026,
        "select code_commune, nom_commune, type_commune, code_commune_parente "
        "from marts.communes where code_commune in ('59006', '59070') order by 1, 3",
    ) == [
        ("59006", "L'Orée de Mormal", "commune-actuelle", None),
        ("59006", "Amfroipret", "commune-deleguee", "59006"),
        ("59070", "Bermeries", "commune-deleguee", "59006"),
    ]


# --- The RP 2018 of all France expressed in COG 2026 ----------------------------------


def test_the_population_of_france_is_conserved_through_the_passage(france_2026):
    [(before,)] = one(
        france_2026,
        "select sum(try_cast(P18_POP as double)) from raw.insee_comparateur "
        "where _millesime = 2018 "
        f"and not regexp_full_match(CODGEO, '{ARRONDISSEMENTS}')",
    )
    [(after, communes)] = one(
        france_2026, "select sum(population), count(*) from marts.population where millesime = 2018"
    )
    [(held_back,)] = one(
        france_2026,
        "select sum(try_cast(P18_POP as double)) from raw.insee_comparateur "
        "where _millesime = 2018 "
        "and CODGEO in (select code_origine from intermediate.int_passage_communes "
        "where geographie = 2021 and not repartissable)",
    )
    assert before == 66_732_538  # the 34 965 communes of the file, arrondissements aside
    assert after + held_back == before
    assert communes == 34875  # every commune of COG 2026 that the file covers
    assert held_back > 0


def test_a_commune_nouvelle_equals_the_sum_of_its_former_communes(france_2026):
    assert one(
        france_2026,
        "select valeur, codes_origine from marts.comparateur "
        "where millesime = 2018 and code_commune = '59006' and variable = 'population'",
    ) == [(rp2018("59006") + rp2018("59070"), "59006 59070")]
    # a change of code is followed: 27058 (COG 2021) became 27676 on 2023-01-01
    assert one(
        france_2026,
        "select population from marts.population where millesime = 2018 and code_commune = '27676'",
    ) == [(rp2018("27058"),)]


def test_a_split_commune_gets_null_with_its_reason_never_a_guess(france_2026):
    rows = one(
        france_2026,
        "select code_commune, population, raisons_absence from marts.population "
        "where millesime = 2018 and code_commune in ('15031', '15141', '15171') order by 1",
    )
    assert [(code, population) for code, population, _ in rows] == [
        ("15031", None),
        ("15141", None),
        ("15171", None),
    ]
    for _, _, reasons in rows:
        assert (
            "population : commune 15141 (COG 2021) partagée entre 15031, 15035, 15047, "
            "15141, 15171 (COG 2026) : chiffres non répartissables" in reasons
        )


def test_the_mel_still_has_95_communes_with_their_2018_figures(france_2026):
    [(communes, population)] = one(
        france_2026,
        "select count(*), sum(population) from marts.population where millesime = 2018 and is_mel",
    )
    assert communes == 95
    assert one(
        france_2026,
        "select population, familles.menages, logements, rp_proprietaires "
        "from marts.population "
        "join marts.familles using (millesime, code_commune) "
        "join marts.logement using (millesime, code_commune) "
        "where millesime = 2018 and code_commune = '59522'",
    ) == [(1926.0, 763.0, 790.0, 631.0)]  # the figures the students charted
    [(mel,)] = one(
        france_2026,
        "select sum(try_cast(P18_POP as double)) from raw.insee_comparateur "
        "where _millesime = 2018 "
        "and CODGEO in (select code_commune from marts.communes where is_mel)",
    )
    assert population == mel


def test_every_mart_gives_the_geography_of_its_source(france_2026):
    assert one(
        france_2026,
        "select distinct geographie_source from marts.comparateur where millesime = 2018",
    ) == [(2021,)]
    assert one(
        france_2026,
        "select distinct geographie_source from marts.population where millesime = 2018",
    ) == [(2021,)]


# --- A file newer than the COG asked for: the movements undone ------------------------


def test_a_file_newer_than_the_cog_is_passed_back_and_a_split_of_2024_adds_up_again(
    registry, folder, tmp_path
):
    filosofi = tmp_path / "base-cc-filosofi-2021-geo2024_csv.zip"
    with zipfile.ZipFile(filosofi, "w") as archive:
        archive.writestr(
            "cc_filosofi_2021_COM.csv",
            gzip.decompress((REFERENCE / "cc_filosofi_2021_COM_FRANCE.csv.gz").read_bytes()),
        )
    files = {"insee_comparateur": (RP2018, 2018), "insee_filosofi": (filosofi, 2021)}
    conn = warehouse_for(registry, folder, 2021, files)
    # 2024: Bazeilles (08053) absorbed La Moncelle (08294). The file (COG 2024) has one
    # figure for both; COG 2021 has two communes: it cannot be split.
    rows = one(
        conn,
        "select code_commune, menages_fiscaux, raisons_absence from marts.filosofi "
        "where code_commune in ('08053', '08294') order by 1",
    )
    assert [(code, households) for code, households, _ in rows] == [
        ("08053", None),
        ("08294", None),
    ]
    for _, _, reasons in rows:
        assert (
            "menages_fiscaux : commune 08053 (COG 2024) partagée entre 08053, 08294 (COG "
            "2021) : chiffres non répartissables" in reasons
        )
    # 2024: 60054 split into 60054 and 60694, whose figures INSEE did not release (nd):
    # back in COG 2021 they add up to one commune, NULL since a part is not available
    [(households, reasons)] = one(
        conn,
        "select menages_fiscaux, raisons_absence from marts.filosofi where code_commune = '60054'",
    )
    assert households is None and "menages_fiscaux : non disponible" in reasons
    assert one(conn, "select count(*) from marts.filosofi where code_commune = '60694'") == [(0,)]
