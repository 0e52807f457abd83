"""The cost of the citizen site per commune: step by step, on the default runner and on
a Dask cluster, for the MEL and for communes of all France.

Reads the warehouse of `make demo` (or OPENDATA_WAREHOUSE): real INSEE figures, its
marts hold every commune of France (the comparateur RP 2018 of all France is imported).
Prints, side by side in one run:

  1. the three steps of a commune's site, in this process, for the 95 MEL communes:
     chart queries (DuckDB, read only, one query per chart and batch of communes), SVG
     rendering, pages (HTML, CSV, static files);
     and the SVG rendering of the same charts the way the site drew them before
     (an Altair object per chart, vl-convert's locale arguments: tests/reference_charts.py,
     which needs the dev dependencies of `uv sync`);
  2. the whole build as the flow runs it (batches of communes as Prefect tasks,
     `tasks/core/runners.py`), on Prefect's default runner and on a Dask cluster of
     this machine's cores (2 worker processes here, on 127.0.0.1, started and warmed by
     one batch each before the measure, as a running cluster is, and given by its address
     as an operator would), with a temporary Prefect
     server: wall time per commune, Prefect's overhead included;
  3. the same on Dask for N communes spread over all of France (2 000 by default),
     extrapolated to every current commune of the warehouse (~34 900). Their pages
     compare each commune with the MEL, as the site does today: this measures the cost,
     not a page a commune outside the MEL would publish.

Peak memory is the VmHWM of this process and of each Dask worker. Run:
  uv run python bench/site.py [--communes-france 2000] [--communes-par-tache 25]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_census import _peak_mb  # noqa: E402

# bench/README.md and README « Performances »: the site before this bench's version.
BEFORE_MS_PER_COMMUNE = 1098


def steps(warehouse: Path, communes: list, folder: Path, size: int) -> dict[str, float]:
    """Seconds spent in each step for `communes`, in this process."""
    from tasks.citizen_site.charts import render_svg
    from tasks.citizen_site.data import open_warehouse, read_charts
    from tasks.citizen_site.pages import ChartView, SectionView, write_site
    from tasks.citizen_site.registry import load_sections
    from tasks.citizen_site.steps import batches
    from tests import reference_charts

    sections = load_sections()
    spent = {"requêtes": 0.0, "SVG": 0.0, "SVG avant (Altair)": 0.0, "pages": 0.0}
    drawn = 0
    with open_warehouse(warehouse) as conn:
        start = time.perf_counter()
        numbers = {
            chart.id: {
                code: data
                for batch in batches(communes, size)
                for code, data in read_charts(conn, chart, batch).items()
            }
            for section in sections
            for chart in section.charts
        }
        spent["requêtes"] += time.perf_counter() - start
        for commune in communes:
            views = []
            for section in sections:
                data = [numbers[chart.id][commune.code] for chart in section.charts]
                drawable = [d for d in data if d.has_data]
                start = time.perf_counter()
                svgs = [render_svg(d) for d in drawable]
                spent["SVG"] += time.perf_counter() - start
                start = time.perf_counter()
                before = [reference_charts.render_svg(d) for d in drawable]
                spent["SVG avant (Altair)"] += time.perf_counter() - start
                if before != svgs:
                    sys.exit(f"SVG différent de la référence pour {commune.code}")
                drawn += len(drawable)
                charts = [
                    ChartView(d, svg, f"donnees/{d.chart.id}.csv", "", None)
                    for d, svg in zip(drawable, svgs, strict=True)
                ]
                if charts or not section.facultative:
                    views.append(SectionView(section, charts, [d for d in data if not d.has_data]))
            start = time.perf_counter()
            write_site(folder / commune.code, commune, views, datetime.now())
            spent["pages"] += time.perf_counter() - start
    spent["graphiques"] = drawn
    return spent


def whole_build(warehouse: Path, communes: list, folder: Path, dask: str | None, size: int):
    """Seconds of the flow's build of `communes`: their batches as Prefect tasks on the
    chosen runner, inside a flow run."""
    from prefect import flow
    from prefect.utilities.annotations import unmapped

    from tasks.citizen_site.steps import batches, build_sites
    from tasks.core.runners import run_map, task_runner

    @flow(name="banc-site-citoyen")
    def build() -> None:
        runner = task_runner(dask)
        static = {
            "warehouse": warehouse,
            "out_dir": folder,
            "env": "prod",
            "generated": datetime.now(),
            "banner": None,
            "communes_mel": 95,
        }
        parameters = {"communes": batches(communes, size)}
        parameters |= {name: unmapped(value) for name, value in static.items()}
        run_map(runner, build_sites, parameters)

    start = time.perf_counter()
    build()
    return time.perf_counter() - start


def _worker_peak() -> float:
    """VmHWM of the process it runs in (sent to each Dask worker by value)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def france_sample(conn, count: int) -> list:
    """`count` current communes spread over all of France (every k-th code)."""
    from tasks.citizen_site.data import Commune

    rows = conn.execute(
        "select c.code_commune, c.nom_commune, c.millesime_cog from marts.communes c "
        "where c.type_commune = 'commune-actuelle' and c.code_commune in "
        "(select code_commune from marts.population) order by c.code_commune"
    ).fetchall()
    step = max(1, len(rows) // count)
    return [Commune(*row) for row in rows[::step][:count]], len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes-france", type=int, default=2000)
    parser.add_argument("--communes-par-tache", type=int, default=25)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="banc-site-prefect-"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    from tasks.citizen_site.data import mel_communes, open_warehouse
    from tasks.core.settings import Settings

    warehouse = Settings.from_env().warehouse
    with open_warehouse(warehouse) as conn:
        mel = mel_communes(conn)
        france, current = france_sample(conn, args.communes_france)
    workers = os.cpu_count() or 1

    with tempfile.TemporaryDirectory() as folder:
        spent = steps(warehouse, mel, Path(folder) / "etapes", args.communes_par_tache)
        drawn = spent.pop("graphiques")
        count = len(mel)
        print(f"1. Étapes, dans ce processus : {count} communes de la MEL, {drawn} graphiques")
        print(f"{'étape':<20} {'total (s)':>10} {'par commune (ms)':>17}")
        for step, seconds in spent.items():
            print(f"{step:<20} {seconds:>10.2f} {1000 * seconds / count:>17.0f}")
        total = spent["requêtes"] + spent["SVG"] + spent["pages"]
        print(f"{'total':<20} {total:>10.2f} {1000 * total / count:>17.0f}")
        ratio = spent["SVG avant (Altair)"] / spent["SVG"]
        print(f"rendu SVG : {ratio:.1f}× plus rapide qu'avant (mêmes SVG, octet pour octet)")
        size = sum(p.stat().st_size for p in (Path(folder) / "etapes").rglob("*") if p.is_file())
        print(f"taille du site : {size / 1e6:.1f} Mo ; mémoire maximale : {_peak_mb():.0f} Mo")

        print(f"\n2. Construction complète ({args.communes_par_tache} communes par tâche Prefect)")
        header = f"{'exécution':<34} {'communes':>8} {'durée (s)':>10} {'ms/commune':>11}"
        print(f"{header} {'avant / maintenant':>19} {'mémoire max (Mo)':>17}")
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.WARNING,
        )
        client = Client(cluster)
        # A running cluster's workers have imported the project and started the SVG
        # renderer: one batch per worker first, out of the measure.
        whole_build(
            warehouse, mel[: 2 * workers], Path(folder) / "chauffe", cluster.scheduler_address, 2
        )
        runs = [
            ("par défaut (threads)", mel, None),
            (f"Dask, {workers} processus", mel, cluster.scheduler_address),
            (f"Dask, {workers} processus", france, cluster.scheduler_address),
        ]
        for label, communes, dask in runs:
            target = Path(folder) / f"complet-{len(communes)}-{bool(dask)}"
            seconds = whole_build(warehouse, communes, target, dask, args.communes_par_tache)
            peaks = list(client.run(_worker_peak).values()) if dask else []
            per = 1000 * seconds / len(communes)
            scope = "MEL" if communes is mel else "France"
            memory = f"{_peak_mb():.0f}" + (f" + {max(peaks):.0f}/processus" if peaks else "")
            print(
                f"{label + ' — ' + scope:<34} {len(communes):>8} {seconds:>10.1f} {per:>11.0f} "
                f"{BEFORE_MS_PER_COMMUNE / per:>18.1f}× {memory:>17}"
            )
            if communes is france:
                hours = per * current / 1000 / 3600
                print(
                    f"extrapolé aux {current} communes actuelles de l'entrepôt : "
                    f"{hours:.1f} h sur cette machine ({workers} cœurs) ; avant : "
                    f"{BEFORE_MS_PER_COMMUNE * current / 1000 / 3600:.1f} h"
                )
        client.close()
        cluster.close()
    print(f"(avant : {BEFORE_MS_PER_COMMUNE} ms par commune, mesure précédente de ce banc ;")
    print(
        f" le cluster Dask, {workers} processus sur 127.0.0.1, est démarré et a construit un "
        "lot par processus avant la mesure)"
    )


if __name__ == "__main__":
    main()
