"""SYNTHETIC CAF and Observatoire des territoires files in the real layouts, written
into a test mirror.

No real extract of data.caf.fr or of the Observatoire des territoires is available
offline. Every value below is an EXAMPLE, never a figure about a commune: CAF counts
are a fixed fraction of the synthetic census households of tests/census_fixtures.py,
the Observatoire's values are computed from the same synthetic census (or, for the
mortality rate of 2022, from the real comparateur file of the mirror) so that the
consistency checks have something true to confirm. What is real: the commune codes
(COG 2026), and the layouts as documented in ../shared/docs/sources.md:

CAF (OpenDataSoft explore v2.1, `exports/csv?delimiter=%3B`): UTF-8 with a BOM, `;`,
header of field names, `dtreffre` as `YYYY-MM`, counts rounded to 5 and amounts to
100 €; quirks injected: an unlocated row (empty `numcomdo`), Paris by arrondissement
only (no 75056 row), 01001 (leading zero), and, in the RSA-by-type export, a 2015
snapshot with the pseudo-codes 99999 (abroad) and XXXXX (unknown).

Observatoire (`GC_API_download.php`): XLSX by default (sheet `Data`, 4 banner rows,
long format `codgeo, libgeo, an, [sexe,] <indicateur>`); CSV `codgeo;libgeo;<indic>`
(no year) for the indicators the registry reads as CSV. Quirks: `-9999` (non classé)
and an empty cell for 59522 in some files.
"""

from __future__ import annotations

import csv
import functools
import io
from pathlib import Path

from tasks.sources.mirror import mirror_relative_path
from tasks.sources.registry import load_registry
from tests.census_fixtures import PARIS, base_cc_values, mel_codes

ROOT = Path(__file__).resolve().parents[1]
COMPARATEUR = ROOT / "samples" / "reference" / "base_cc_comparateur_RP2022_MEL95.csv"
CAF_YEARS = (2020, 2021, 2022, 2023, 2024)
OTHER_COMMUNES = ["59006", "01001", "75056"]  # Observatoire: Paris as one commune
CAF_OTHERS = ["59006", "01001", *PARIS[1:]]  # CAF: Paris by arrondissement only


def round_to(value: float, step: int) -> int:
    return int(step * round(value / step))


def menages(code: str, year: int) -> float:
    """Synthetic census households; a Paris arrondissement gets 1/20 of Paris's."""
    census = min((2021, 2022), key=lambda m: (abs(m - year), m))
    if code in PARIS[1:]:
        return base_cc_values("familles", "75056", census)["menages"] / 20
    return base_cc_values("familles", code, census)["menages"]


def caf_prestations_rows(years=CAF_YEARS) -> list[dict[str, str]]:
    rows = []
    for year in years:
        for code in [*mel_codes(), *CAF_OTHERS]:
            households = menages(code, year) * (1 + 0.01 * (year - 2022))
            foyers = round_to(0.42 * households, 5)
            rsa = round_to(0.07 * households, 5)
            ppa = round_to(0.09 * households, 5)
            rows.append(
                {
                    "dtreffre": f"{year}-12",
                    "numcomdo": code,
                    "nomcom": f"Commune {code}",
                    "indfoy_ndur": str(foyers),
                    "indnbp_ndur": str(round_to(2.3 * foyers, 5)),
                    "indfoy_af": str(round_to(0.15 * households, 5)),
                    "indfoy_cf": str(round_to(0.03 * households, 5)),
                    "indfoy_asf": str(round_to(0.02 * households, 5)),
                    "indfoy_ab": str(round_to(0.03 * households, 5)),
                    "indfoy_cmg": str(round_to(0.025 * households, 5)),
                    "indfoy_apl": str(round_to(0.10 * households, 5)),
                    "indfoy_als": str(round_to(0.06 * households, 5)),
                    "indfoy_alf": str(round_to(0.03 * households, 5)),
                    "indfoy_rsa": str(rsa),
                    "indmtt_rsa": str(round_to(rsa * 640, 100)),
                    "indfoy_ppa": str(ppa),
                    "indmtt_ppa": str(round_to(ppa * 190, 100)),
                }
            )
        empty = {key: "" for key in rows[-1]}
        rows.append({**empty, "dtreffre": f"{year}-12", "indfoy_ndur": "35", "indnbp_ndur": "80"})
    return rows


def caf_rsa_types_rows(years=(2015, *CAF_YEARS)) -> list[dict[str, str]]:
    rows = []
    for year in years:
        codes = [*mel_codes(), *CAF_OTHERS] + (["99999", "XXXXX"] if year < 2016 else [])
        for code in codes:
            pseudo = code in {"99999", "XXXXX"}
            households = (400 if pseudo else menages(code, year)) * (1 + 0.01 * (year - 2022))
            majore = round_to(0.02 * households, 5)
            non_majore = round_to(0.05 * households, 5)
            rsa = majore + non_majore
            rows.append(
                {
                    "dtreffre": f"{year}-12",
                    "numcomdo": code,
                    "nomcom": "" if pseudo else f"Commune {code}",
                    "indfoy_rsa": str(rsa),
                    "indfoy_rsa_maj": str(majore),
                    "indfoy_rsa_nmaj": str(non_majore),
                }
            )
    return rows


def ods_csv(rows: list[dict[str, str]], columns: list[str] | None = None) -> bytes:
    """An OpenDataSoft CSV export: UTF-8 with a BOM, `;`, field names as header."""
    columns = columns or (list(rows[0]) if rows else [])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in columns})
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def write_caf(mirror: Path, source_id: str, payload: bytes) -> Path:
    target = mirror / mirror_relative_path(load_registry().sources[source_id].url)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(payload)
    return target


# --- Observatoire des territoires ---------------------------------------------------


@functools.cache
def real_mortality_2022() -> dict[str, float]:
    """Deaths 2016-2021 per year per 1 000 inhabitants (mean of P16 and P22), from the
    real comparateur rows of the MEL: the same definition as marts.population."""
    with COMPARATEUR.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    return {
        row["CODGEO"]: 1000
        * float(row["DECE1621"])
        / 6
        / ((float(row["P22_POP"]) + float(row["P16_POP"])) / 2)
        for row in rows
    }


def odt_value(code_indicateur: str, code: str, year: int | None, sexe: str) -> float | str:
    """The example value of an indicator (agreeing with the census where comparable)."""
    seed = int(code[-3:]) % 17
    if code_indicateur == "part_fam_mono":
        values = base_cc_values("familles", code, year)
        return 100 * values["familles_monoparentales"] / values["familles"]
    if code_indicateur == "ind_vieill":
        values = base_cc_values("evol_struct_pop", code, 2022)
        young = values["hommes_0_19"] + values["femmes_0_19"]
        index = 100 * (values["hommes_65_plus"] + values["femmes_65_plus"]) / young
        return index * (1 - 0.008 * (2022 - year))
    if code_indicateur == "tx_mort":
        if year == 2022 and code in real_mortality_2022():
            return real_mortality_2022()[code]
        return 8.5 + seed / 10
    if code_indicateur == "part_log_vac":
        return 8.0 if year >= 2021 else 5.5 + seed / 10
    if code_indicateur == "part_75p_seuls":
        return {"hommes": 24.0, "femmes": 48.0, "ensemble": 39.0}[sexe] + seed / 10
    if code_indicateur == "part_immigres":
        return 4.0 + seed / 2
    raise KeyError(code_indicateur)


ODT_YEARS = {
    "part_fam_mono": (2021, 2022),
    "ind_vieill": (1968, 1990, 2011, 2016, 2022),
    "tx_mort": (2016, 2022),
    "part_log_vac": (1968, 1999, 2016, 2021, 2022),
    "part_75p_seuls": (2022,),
}
ODT_SEXES = {"part_75p_seuls": ("hommes", "femmes", "ensemble")}
SEXE_LABELS = {"hommes": "Hommes", "femmes": "Femmes", "ensemble": "Ensemble"}


def odt_rows(code_indicateur: str) -> list[list]:
    """Long rows `codgeo, libgeo, an, [sexe,] value`, with the injected quirks."""
    rows = []
    sexes = ODT_SEXES.get(code_indicateur)
    for year in ODT_YEARS[code_indicateur]:
        for code in [*mel_codes(), *OTHER_COMMUNES]:
            for sexe in sexes or ("ensemble",):
                value = round(odt_value(code_indicateur, code, year, sexe), 1)
                if code == "59522" and code_indicateur == "part_75p_seuls" and sexe == "hommes":
                    value = -9999  # non classé
                if code == "59522" and code_indicateur == "tx_mort" and year == 2016:
                    value = None  # zero or secret: indistinguishable
                row = [code, f"Commune {code}", year]
                rows.append([*row, SEXE_LABELS[sexe], value] if sexes else [*row, value])
    return rows


def odt_xlsx(code_indicateur: str, rows: list[list] | None = None, header=None) -> bytes:
    """The default export: sheet `Data`, 4 banner rows, then the long table."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Data"
    sheet.append(["Observatoire des territoires - ANCT (EXEMPLE SYNTHÉTIQUE)"])
    sheet.append([f"Indicateur : {code_indicateur}"])
    sheet.append(["Source : exemple de test, valeurs fictives"])
    sheet.append([])
    sexes = ODT_SEXES.get(code_indicateur)
    sheet.append(
        header or ["codgeo", "libgeo", "an", *(["sexe"] if sexes else []), code_indicateur]
    )
    for row in odt_rows(code_indicateur) if rows is None else rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def odt_csv(code_indicateur: str) -> bytes:
    """CSV export: `codgeo;libgeo;<indic>`, the last year only, which it does not name."""
    lines = [f"codgeo;libgeo;{code_indicateur}"]
    for code in [*mel_codes(), *OTHER_COMMUNES]:
        value = round(odt_value(code_indicateur, code, None, "ensemble"), 1)
        text = str(value).replace(".", ",")
        if code == "59522":
            text = ""  # zero or secret
        if code == "01001":
            text = "-9999"
        lines.append(f"{code};Commune {code};{text}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def odt_path(mirror: Path, code_indicateur: str) -> Path:
    source = load_registry().sources["odt_indicateurs"]
    indicateur = next(i for i in source.indicateurs if i.code == code_indicateur)
    return mirror / mirror_relative_path(source.indicator_url(indicateur))


def write_social(mirror: Path) -> None:
    """Both CAF exports and every indicator of the registry."""
    write_caf(mirror, "caf_prestations", ods_csv(caf_prestations_rows()))
    write_caf(mirror, "caf_rsa_types", ods_csv(caf_rsa_types_rows()))
    source = load_registry().sources["odt_indicateurs"]
    for indicateur in source.indicateurs:
        target = odt_path(mirror, indicateur.code)
        target.parent.mkdir(parents=True, exist_ok=True)
        if (indicateur.format or source.format) == "csv":
            target.write_bytes(odt_csv(indicateur.code))
        else:
            target.write_bytes(odt_xlsx(indicateur.code))
