"""SYNTHETIC census files in the real INSEE layouts, written into a test mirror.

No real extract of the base-cc files (evol-struct-pop, logement, coupl-fam-men) or of
the Melodi série historique is available offline for the MEL communes. The values
below are examples, never figures about a commune: each is derived from a population
that is, for a MEL commune, its real population municipale of RP 2022 (COG 2026
membership file) drifting by 0.4 % a year, and otherwise computed from its code. So
the 2022 populations agree with the real comparateur and add up to the EPCI's. What is
real: the layouts (column names from INSEE's dictionaries in
`../shared/reference/insee/meta_*`, zip member names, `;`, CRLF, upper-case `.CSV`),
the commune codes (COG 2026), the Melodi catalogue (a verbatim copy of
`GET /catalog/all`, 2026-01-06), and the quirks injected on purpose:

- 59522: `s` (secret statistique) in P{yy}_RP_LOCHLMV;
- P{yy}_RP_GRAT and C{yy}_FAMMONO written with a decimal comma;
- counts are weighted decimals (never integers);
- 59070 Bermeries (merged into 59006 in 2025): its own values in the 2021 files
  (geography 2024), an empty row in the 2022 files;
- Paris 75056 with its 20 arrondissements 75101…75120 (never to be added twice);
- 01001 (a code with a leading zero) outside the MEL.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path

from tasks.sources.mirror import mirror_relative_path
from tasks.sources.registry import load_registry, resolve_template

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "samples" / "reference" / "melodi_catalog_summary_2026-01-06.json"
CATALOGUE_URL = "https://api.insee.fr/melodi/catalog/all"
MEL_MEMBERS = (
    ROOT / "samples" / "mirror" / "unpkg.com/@etalab/decoupage-administratif@6.0.0/data/epci.json"
)
PARIS = ["75056", *(f"751{n:02d}" for n in range(1, 21))]
OTHERS = ["59006", "59070", "01001", *PARIS]
ZIP_DATE = (2025, 6, 26, 0, 0, 0)


def mel_codes() -> list[str]:
    epcis = json.loads(MEL_MEMBERS.read_text(encoding="utf-8"))
    mel = next(epci for epci in epcis if epci["code"] == "200093201")
    return sorted(member["code"] for member in mel["membres"])


@functools.cache
def mel_populations_2022() -> dict[str, int]:
    """The real population municipale (RP 2022) of each MEL commune, from the COG file."""
    epcis = json.loads(MEL_MEMBERS.read_text(encoding="utf-8"))
    mel = next(epci for epci in epcis if epci["code"] == "200093201")
    return {member["code"]: member["populationMunicipale"] for member in mel["membres"]}


def population(code: str, millesime: int) -> float:
    """A population for a millésime (synthetic; weighted, non-integer outside 2022)."""
    real = mel_populations_2022().get(code)
    if real is not None:
        return round(real * (1 + 0.004 * (millesime - 2022)), 6)
    base = 900 + (int(code[-3:]) * 37 % 4000) + 0.318 * (int(code[:2].replace("2A", "20")) % 7)
    return round(base * (1 + 0.004 * (millesime - 2016)), 6)


def base_cc_values(kind: str, code: str, millesime: int) -> dict[str, float]:
    """Consistent synthetic counts for one commune, by stable variable name."""
    pop = population(code, millesime)
    hommes, femmes = 0.48 * pop, 0.52 * pop
    log = 0.45 * pop
    rp = 0.9 * log
    fam = 0.7 * rp
    mono = (0.18 - 0.002 * (millesime - 2021)) * fam
    values = {
        "evol_struct_pop": {
            "population": pop,
            "hommes": hommes,
            "femmes": femmes,
            "pop_0_14": 0.18 * pop,
            "pop_15_29": 0.17 * pop,
            "pop_30_44": 0.2 * pop,
            "pop_45_59": 0.2 * pop,
            "pop_60_74": 0.15 * pop,
            "pop_75_89": 0.08 * pop,
            "pop_90_plus": 0.02 * pop,
            "hommes_0_14": 0.18 * hommes,
            "femmes_0_14": 0.18 * femmes,
            "hommes_15_29": 0.17 * hommes,
            "femmes_15_29": 0.17 * femmes,
            "hommes_30_44": 0.2 * hommes,
            "femmes_30_44": 0.2 * femmes,
            "hommes_45_59": 0.2 * hommes,
            "femmes_45_59": 0.2 * femmes,
            "hommes_60_74": 0.15 * hommes,
            "femmes_60_74": 0.15 * femmes,
            "hommes_75_89": 0.08 * hommes,
            "femmes_75_89": 0.08 * femmes,
            "hommes_90_plus": 0.02 * hommes,
            "femmes_90_plus": 0.02 * femmes,
            "hommes_0_19": 0.25 * hommes,
            "hommes_20_64": 0.57 * hommes,
            "hommes_65_plus": 0.18 * hommes,
            "femmes_0_19": 0.22 * femmes,
            "femmes_20_64": 0.56 * femmes,
            "femmes_65_plus": 0.22 * femmes,
        },
        "logement": {
            "logements": log,
            "residences_principales": rp,
            "residences_secondaires": 0.02 * log,
            "logements_vacants": 0.08 * log,
            "maisons": 0.6 * log,
            "appartements": 0.4 * log,
            "rp_1_piece": 0.05 * rp,
            "rp_2_pieces": 0.1 * rp,
            "rp_3_pieces": 0.2 * rp,
            "rp_4_pieces": 0.3 * rp,
            "rp_5_pieces_plus": 0.35 * rp,
            "rp_proprietaires": 0.55 * rp,
            "rp_locataires": 0.42 * rp,
            "rp_hlm": 0.15 * rp,
            "rp_loges_gratuitement": 0.03 * rp,
            "menages_logement": rp,
            "menages_emmenages_moins_2_ans": 0.1 * rp,
            "menages_emmenages_2_4_ans": 0.15 * rp,
            "menages_emmenages_5_9_ans": 0.2 * rp,
            "menages_emmenages_10_ans_plus": 0.55 * rp,
        },
        "familles": {
            "menages": rp,
            "menages_une_personne": 0.33 * rp,
            "menages_avec_famille": 0.62 * rp,
            "population_des_menages": 0.98 * pop,
            "familles": fam,
            "couples_avec_enfants": 0.42 * fam,
            "couples_sans_enfant": fam - 0.42 * fam - mono,
            "familles_monoparentales": mono,
            "pop_65_79": 0.12 * pop,
            "pop_65_79_seules": 0.25 * 0.12 * pop,
            "pop_80_plus": 0.05 * pop,
            "pop_80_plus_seules": 0.45 * 0.05 * pop,
        },
    }
    return values[kind]


SOURCES = {
    "evol_struct_pop": ("insee_evol_struct_pop", "base-cc-evol-struct-pop"),
    "logement": ("insee_logement", "base-cc-logement"),
    "familles": ("insee_familles", "base-cc-coupl-fam-men"),
}
COMMA_COLUMNS = {"P{yy}_RP_GRAT", "C{yy}_FAMMONO"}
UNDECLARED = ["P{yy}_POP01P", "P{yy-5}_POP", "C{yy}_MEN_CS1"]


def base_cc_csv(
    kind: str,
    millesime: int,
    drop: tuple[str, ...] = (),
    overrides: dict[tuple[str, str], str] | None = None,
) -> bytes:
    """The CSV of a base-cc file (`;`, CRLF), with the declared columns and a few more."""
    source = load_registry().sources[SOURCES[kind][0]]
    columns = [c for c in source.columns if c.source != "CODGEO"]
    header = ["CODGEO", *(resolve_template(c.source, millesime) for c in columns)]
    header += [resolve_template(name, millesime) for name in UNDECLARED]
    lines = [";".join(name for name in header if name not in drop)]
    for code in [*mel_codes(), *OTHERS]:
        if code == "59070" and millesime >= 2022:  # absorbed in 2025: an empty row survives
            cells = [code, *([""] * (len(header) - 1))]
        else:
            values = base_cc_values(kind, code, millesime)
            cells = [code]
            for column in columns:
                value = f"{values[column.variable]:.6f}".rstrip("0").rstrip(".")
                if column.source in COMMA_COLUMNS:
                    value = value.replace(".", ",")
                if code == "59522" and column.source == "P{yy}_RP_LOCHLMV":
                    value = "s"
                value = (overrides or {}).get((code, column.source), value)
                cells.append(value)
            cells += ["12.5"] * len(UNDECLARED)
        lines.append(";".join(c for name, c in zip(header, cells, strict=True) if name not in drop))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def write_base_cc(
    mirror: Path,
    kind: str,
    millesime: int,
    drop: tuple[str, ...] = (),
    overrides: dict[tuple[str, str], str] | None = None,
) -> str:
    """Write the zip at the mirror place of the registry's URL for that millésime."""
    source_id, stem = SOURCES[kind]
    url = load_registry().sources[source_id].urls_by_millesime[millesime]
    payload = base_cc_csv(kind, millesime, drop, overrides)
    return write_zip(mirror, url, {f"{stem}-{millesime}.CSV": payload})


def write_zip(mirror: Path, url: str, members: dict[str, bytes]) -> str:
    target = mirror / mirror_relative_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, payload)
    target.write_bytes(buffer.getvalue())
    return url


def census_years(millesime: int) -> list[int]:
    return [1968, 1975, 1982, 1990, 1999, millesime - 11, millesime - 6, millesime]


def serie_historique_csv(millesime: int, period_style: str = "range") -> bytes:
    """Melodi long layout, quoted, `;`: commune, arrondissement and département rows."""
    lines = ['"GEO";"GEO_OBJECT";"FREQ";"RP_MEASURE";"OCS";"TIME_PERIOD";"OBS_VALUE"']

    def row(geo, level, measure, ocs, period, value):
        lines.append(f'"{geo}";"{level}";"A";"{measure}";"{ocs}";"{period}";"{value}"')

    years = census_years(millesime)
    places = [(code, "ARM" if code[:3] == "751" else "COM") for code in [*mel_codes(), *OTHERS]]
    for code, level in places:
        if code == "59070":
            continue  # absent from the geography of the file (2025)
        for index, year in enumerate(years):
            pop = population(code, 2016) * (0.7 + 0.3 * index / (len(years) - 1))
            log = 0.4 * pop
            row(code, level, "POP", "_T", year, round(pop, 3))
            row(code, level, "DWELLINGS", "_T", year, round(log, 3))
            row(code, level, "DWELLINGS", "DW_MAIN", year, round(0.88 * log, 3))
            row(code, level, "DWELLINGS", "DW_SEC_DW_OCC", year, round(0.04 * log, 3))
            vacant = "" if (code == "59522" and year == 1968) else round(0.08 * log, 3)
            row(code, level, "DWELLINGS", "DW_VAC", year, vacant)
            if index:
                previous = years[index - 1]
                period = f"{previous}-{year}" if period_style == "range" else str(year)
                births = round(0.012 * pop * (year - previous), 3)
                deaths = round(0.009 * pop * (year - previous), 3)
                row(code, level, "BRTH", "_T", period, births)
                row(code, level, "DEATH", "_T", period, deaths)
    row("59", "DEP", "POP", "_T", millesime, 2_600_000)  # other levels: never loaded
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def melodi_product_url(dataset: str, millesime: int) -> str:
    return f"https://api.insee.fr/melodi/file/{dataset}/{dataset}_{millesime}_CSV_FR"


def write_serie_historique(mirror: Path, millesime: int, period_style: str = "range") -> str:
    name = f"DS_RP_SERIE_HISTORIQUE_{millesime}"
    return write_zip(
        mirror,
        melodi_product_url("DS_RP_SERIE_HISTORIQUE", millesime),
        {
            f"{name}_data.csv": serie_historique_csv(millesime, period_style),
            f"{name}_metadata.csv": b'"COD_VAR";"LIB_VAR"\r\n"POP";"Population"\r\n',
        },
    )


def populations_legales_csv(millesime: int) -> bytes:
    """Melodi long layout of DS_POPULATIONS_REFERENCE: PMUN, PCAP, PTOT per place."""
    lines = ['"GEO";"GEO_OBJECT";"FREQ";"POPREF_MEASURE";"TIME_PERIOD";"OBS_VALUE"']
    for code in [*mel_codes(), *OTHERS]:
        if code == "59070":
            continue
        level = "ARM" if code[:3] == "751" else "COM"
        pmun = round(population(code, millesime))
        pcap = round(pmun * 0.015)
        for measure, value in (("PMUN", pmun), ("PCAP", pcap), ("PTOT", pmun + pcap)):
            lines.append(f'"{code}";"{level}";"A";"{measure}";"{millesime}";"{value}"')
    lines.append(f'"59";"DEP";"A";"PMUN";"{millesime}";"2600000"')
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def write_populations_legales(mirror: Path, millesime: int) -> str:
    name = f"DS_POPULATIONS_REFERENCE_{millesime}"
    return write_zip(
        mirror,
        melodi_product_url("DS_POPULATIONS_REFERENCE", millesime),
        {f"{name}_data.csv": populations_legales_csv(millesime)},
    )


def write_catalogue(mirror: Path, last_years: dict[str, int] | None = None) -> Path:
    """The real catalogue, where a test may announce a newer year for some datasets."""
    catalogue = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    for entry in catalogue:
        year = (last_years or {}).get(entry["identifier"])
        if year:
            entry["temporal"]["endPeriod"] = f"{year}-01-01T00:00:00"
            product = f"{entry['identifier']}_{year}_CSV_FR"
            entry["products"] = [
                {
                    "id": product,
                    "accessURL": melodi_product_url(entry["identifier"], year),
                    "format": "CSV",
                }
            ]
    target = mirror / mirror_relative_path(CATALOGUE_URL)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(catalogue, ensure_ascii=False), encoding="utf-8")
    return target


def write_census(mirror: Path) -> None:
    """Every census file the registry lists (each millésime), plus the catalogue."""
    write_catalogue(mirror)
    for kind, (source_id, _) in SOURCES.items():
        for millesime in load_registry().sources[source_id].urls_by_millesime:
            write_base_cc(mirror, kind, millesime)
    write_serie_historique(mirror, 2022)
    write_populations_legales(mirror, 2023)
