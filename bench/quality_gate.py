"""The cost of the quality gate at France scale, with and without its Data Docs.

Builds a France-size warehouse the way `load_census.py` does (SYNTHETIC census files
in the real layouts, ~35 000 communes, every millésime of the registry, plus the real
référentiel of the Nord and the comparateur sample), then validates every mart with
its suite and the common checks, side by side, each in a fresh process:

  - sans Data Docs: `gate.validate` as the publication flow calls it;
  - avec Data Docs: as the refresh calls it, also writing the GX HTML report.

Prints, per mode, wall time, peak memory (VmHWM), the number of expectations and the
size of the report.
Run: uv run python bench/quality_gate.py [--communes 35000] [--colonnes 300]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_census import SAMPLES, _peak_mb, _raw, build_files, in_fresh_process  # noqa: E402


def build_warehouse(files: dict, warehouse: Path) -> dict[str, int]:
    from tasks.core.warehouse import connect
    from tasks.sources import load
    from tasks.sources.registry import load_registry
    from tasks.transform import models

    registry = load_registry()
    conn = connect(warehouse)
    load.prepare(conn, registry)
    samples = [
        ("geo_communes", 2026, next((SAMPLES / "geo.api.gouv.fr").glob("communes@*"))),
        (
            "geo_communes_associees_deleguees",
            2026,
            next((SAMPLES / "geo.api.gouv.fr").glob("communes_associees_deleguees@*")),
        ),
        ("epci_populations", 2026, next(SAMPLES.rglob("epci.json"))),
        ("insee_comparateur", 2022, next(SAMPLES.rglob("base_cc_comparateur_csv.zip"))),
    ]
    generated = [(s, m, path) for s, items in files.items() for m, path in items]
    for source_id, millesime, path in [*samples, *generated]:
        load.load_source(
            conn, registry.sources[source_id], [(_raw(source_id, millesime, path), path)]
        )
    counts = models.build(conn, models.discover())
    conn.close()
    return counts


def measure(warehouse: Path, docs: Path | None, queue: mp.Queue) -> None:
    import duckdb

    from tasks.publication.catalog import load_catalog
    from tasks.quality import gate, suites
    from tasks.transform import models

    start = time.perf_counter()
    every = models.discover()
    marts = [m for m in every if m.layer == "marts"]
    published = load_catalog().published_keys()
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        waiting = models.awaiting_data(conn, every)
        ready = [m for m in marts if m.name not in waiting]
        validation = gate.validate(conn, suites.suites_for(ready), published, None, docs)
    elapsed = time.perf_counter() - start
    size = sum(p.stat().st_size for p in docs.rglob("*") if p.is_file()) if docs else 0
    queue.put((elapsed, _peak_mb(), len(validation.outcomes), size))


def run(warehouse: Path, docs: Path | None) -> tuple[float, float, int, int]:
    return in_fresh_process(measure, warehouse, docs, label="du contrôle qualité")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--communes", type=int, default=35000)
    parser.add_argument("--colonnes", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        files = build_files(args.communes, args.colonnes, folder)
        counts = build_warehouse(files, folder / "entrepot.duckdb")
        rows = {name.split(".", 1)[1]: n for name, n in counts.items() if name.startswith("marts.")}
        print("Marts validés (lignes) : " + ", ".join(f"{m} {n}" for m, n in rows.items()))
        print(f"{'mode':<18} {'secondes':>8} {'Mo (pic)':>8} {'attentes':>8} {'rapport Mo':>10}")
        for label, docs in (("sans Data Docs", None), ("avec Data Docs", folder / "docs")):
            elapsed, peak, expectations, size = run(folder / "entrepot.duckdb", docs)
            print(f"{label:<18} {elapsed:>8.1f} {peak:>8.0f} {expectations:>8} {size / 1e6:>10.1f}")


if __name__ == "__main__":
    main()
