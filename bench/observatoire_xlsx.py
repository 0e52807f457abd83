"""Reading an Observatoire des territoires export of France: our reader vs pandas.

No real export is available offline: this script writes a SYNTHETIC one in the
default layout (sheet `Data`, 4 banner rows, long format `codgeo, libgeo, an, <indic>`)
for ~35 000 communes × 8 census years (the 1968→ series, ~280 000 rows), and the same
rows as the CSV export. It then measures, side by side, in one run, each in a fresh
process (so that memory figures stay apart):

  - ours-xlsx: `tasks.sources.indicators.read_rows` (openpyxl read-only) + `write_normalised`,
    what the loader does before DuckDB reads the file;
  - pandas-xlsx: `pandas.read_excel(skiprows=4, dtype=str)` (openpyxl, full load) +
    the same long CSV;
  - ours-csv: `read_rows` on the CSV export of the same rows;
  - ours-check: `check_layout`, the check made at download (top of the xlsx only).

It prints wall time and peak memory (VmHWM) of each, and the ratios.
Run: uv run python bench/observatoire_xlsx.py [--communes 35000] [--annees 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load_census import _peak_mb, commune_codes, in_fresh_process  # noqa: E402

YEARS = (1968, 1975, 1982, 1990, 1999, 2011, 2016, 2022)
CODE = "ind_vieill"


def build(communes: int, years: int, folder: Path) -> tuple[Path, Path]:
    import openpyxl

    codes = commune_codes(communes)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Data")
    for banner in (["Observatoire des territoires (EXEMPLE SYNTHÉTIQUE)"], ["Indicateur"], [], []):
        sheet.append(banner)
    sheet.append(["codgeo", "libgeo", "an", CODE])
    lines = [f"codgeo;libgeo;{CODE}"]
    for year in YEARS[:years]:
        for index, code in enumerate(codes):
            value = round(40 + (index % 97) * 0.7 + (year - 1968) * 0.4, 1)
            sheet.append([code, f"Commune {code}", year, -9999 if index % 503 == 0 else value])
            if year == YEARS[years - 1]:
                lines.append(f"{code};Commune {code};{str(value).replace('.', ',')}")
    xlsx, csv = folder / "export-xlsx", folder / "export-csv"
    workbook.save(xlsx)
    csv.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return xlsx, csv


def measure(kind: str, path: Path, queue) -> None:
    import dataclasses

    from tasks.sources import indicators
    from tasks.sources.registry import load_registry

    source = load_registry().sources["odt_indicateurs"]
    indicateur = next(item for item in source.indicateurs if item.code == CODE)
    target = path.with_suffix(".normalise.csv")
    start = time.perf_counter()
    if kind == "pandas-xlsx":
        import pandas as pd

        frame = pd.read_excel(path, sheet_name="Data", skiprows=4, dtype=str)
        frame["sexe"], frame["indicateur"] = "", CODE
        frame = frame.rename(columns={CODE: "valeur"})
        frame[list(indicators.NORMALISED)].to_csv(target, sep=";", index=False)
        rows = len(frame)
    elif kind == "ours-check":
        indicators.check_layout(path, source, indicateur, "bench")
        rows = 0
    else:
        as_served = dataclasses.replace(source, format="csv" if kind == "ours-csv" else "xlsx")
        found = indicators.read_rows(path, as_served, indicateur, "bench")
        indicators.write_normalised(found, target)
        rows = len(found)
    queue.put((rows, time.perf_counter() - start, _peak_mb()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--communes", type=int, default=35000)
    parser.add_argument("--annees", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        xlsx, csv = build(args.communes, args.annees, Path(folder))
        print(
            f"Export synthétique : {args.communes} communes × {args.annees} années ; "
            f"xlsx {xlsx.stat().st_size / 1e6:.1f} Mo, csv (dernière année) "
            f"{csv.stat().st_size / 1e6:.1f} Mo, écrits en {time.perf_counter() - start:.1f} s"
        )
        results = {
            kind: in_fresh_process(measure, kind, path, label=kind)
            for kind, path in (
                ("ours-xlsx", xlsx),
                ("pandas-xlsx", xlsx),
                ("ours-csv", csv),
                ("ours-check", xlsx),
            )
        }
    print(f"{'lecteur':<12} {'lignes':>8} {'durée (s)':>10} {'mémoire max (Mo)':>17}")
    for kind, (rows, seconds, peak) in results.items():
        print(f"{kind:<12} {rows:>8} {seconds:>10.1f} {peak:>17.0f}")
    ours, pandas_ = results["ours-xlsx"], results["pandas-xlsx"]
    print(
        f"pandas-xlsx / ours-xlsx : durée × {pandas_[1] / ours[1]:.2f}, "
        f"mémoire × {pandas_[2] / ours[2]:.2f}"
    )


if __name__ == "__main__":
    main()
