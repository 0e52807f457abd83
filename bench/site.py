"""The cost of the citizen site, step by step, for every commune of the MEL.

Reads the warehouse of `make demo` (or OPENDATA_WAREHOUSE) and, for each of the 95
communes, times side by side the three steps of `opendata-mel site --all-mel`:

  - requêtes: the chart queries (DuckDB, read only, one connection);
  - SVG: the Vega-Lite specs rendered by vl-convert;
  - pages: the HTML, CSV and static files written to a temporary folder.

Prints, per step, total and per-commune time, then the size of the output and the
process's peak memory (VmHWM). Prefect's own overhead is not included.
Run: uv run python bench/site.py [--communes 95]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_census import _peak_mb  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=95)
    args = parser.parse_args()

    from tasks.citizen_site.charts import render_svg
    from tasks.citizen_site.data import mel_communes, open_warehouse, read_chart
    from tasks.citizen_site.pages import ChartView, SectionView, dataset_for, write_site
    from tasks.citizen_site.registry import load_sections
    from tasks.core.settings import Settings
    from tasks.publication.catalog import load_catalog

    sections, catalog = load_sections(), load_catalog()
    spent = {"requêtes": 0.0, "SVG": 0.0, "pages": 0.0}
    drawn = 0
    with (
        tempfile.TemporaryDirectory() as folder,
        open_warehouse(Settings.from_env().warehouse) as conn,
    ):
        communes = mel_communes(conn)[: args.communes]
        for commune in communes:
            views = []
            for section in sections:
                start = time.perf_counter()
                data = [read_chart(conn, chart, commune) for chart in section.charts]
                spent["requêtes"] += time.perf_counter() - start
                start = time.perf_counter()
                charts = [
                    ChartView(d, render_svg(d), f"donnees/{d.chart.id}.csv", "", None)
                    for d in data
                    if d.has_data
                ]
                spent["SVG"] += time.perf_counter() - start
                drawn += len(charts)
                if charts or not section.facultative:
                    views.append(SectionView(section, charts, [d for d in data if not d.has_data]))
            start = time.perf_counter()
            dataset_for(catalog, "comparateur", commune, "prod")
            write_site(Path(folder) / commune.code, commune, views, datetime.now())
            spent["pages"] += time.perf_counter() - start
        size = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())

    count = len(communes)
    print(f"Site citoyen : {count} commune(s), {drawn} graphique(s) dessiné(s)")
    print(f"{'étape':<10} {'total (s)':>10} {'par commune (ms)':>17}")
    for step, seconds in spent.items():
        print(f"{step:<10} {seconds:>10.2f} {1000 * seconds / count:>17.0f}")
    total = sum(spent.values())
    print(f"{'total':<10} {total:>10.2f} {1000 * total / count:>17.0f}")
    print(f"taille du site : {size / 1e6:.1f} Mo ; mémoire maximale : {_peak_mb():.0f} Mo")


if __name__ == "__main__":
    main()
