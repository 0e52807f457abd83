"""The cost of the quality gate at France scale, with and without its Data Docs.

Builds France-size warehouses the way `load_census.py` does (not measured): the real
référentiel of COG 2026 and the comparateur sample of the MEL, then SYNTHETIC census
files in the real layouts (~35 000 communes, every millésime of the registry), all
models built: the "synthétique" warehouse. The "national" one adds the real
comparateur RP 2018 of all France (samples/reference, 35 010 communes, imported as a
data officer does). Then it validates every mart with its suite and the common checks,
side by side, each in a fresh process:

  - sans Data Docs: `gate.validate` as the publication flow calls it;
  - avec Data Docs: as the refresh calls it, also writing the GX HTML report.

Prints, per warehouse and mode, wall time, peak memory (VmHWM), the number of
expectations and the size of the report.
Run: uv run python bench/quality_gate.py [--communes 35000] [--colonnes 300] [--sans-national]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_census import (  # noqa: E402
    _peak_mb,
    _raw,
    build_files,
    in_fresh_process,
    reference_warehouse,
)

RP2018 = ROOT / "samples" / "reference" / "base_cc_comparateur_RP2018_FRANCE_csv.zip"


def build_warehouse(files: dict, warehouse: Path, national: bool = False) -> dict[str, int]:
    """The reference warehouse of load_census.py, then the census files (and, national,
    the real comparateur RP 2018 of France), every model built."""
    from tasks.core.warehouse import connect
    from tasks.sources import load
    from tasks.sources.registry import load_registry
    from tasks.transform import models

    registry = load_registry()
    reference_warehouse(warehouse)
    items = [(s, m, path) for s, every in files.items() for m, path in every]
    if national:
        items.append(("insee_comparateur", 2018, RP2018))
    with connect(warehouse) as conn:
        for source_id, millesime, path in items:
            raw = _raw(source_id, millesime, path)
            load.load_source(conn, registry.sources[source_id], [(raw, path)])
        return models.build(conn, models.discover())


def _build_in_process(files: dict, warehouse: Path, national: bool, queue: mp.Queue) -> None:
    queue.put(build_warehouse(files, warehouse, national))


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
    parser.add_argument("--sans-national", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        files = build_files(args.communes, args.colonnes, folder)
        warehouses = [("synthétique", False)] + ([] if args.sans_national else [("national", True)])
        for name, national in warehouses:
            warehouse = folder / f"entrepot-{'national' if national else 'synthetique'}.duckdb"
            counts = in_fresh_process(
                _build_in_process, files, warehouse, national, label="de l'entrepôt"
            )
            rows = {t.split(".", 1)[1]: n for t, n in counts.items() if t.startswith("marts.")}
            print(
                f"Entrepôt {name} : marts validés (lignes) : "
                + ", ".join(f"{m} {n}" for m, n in rows.items())
            )
            print(
                f"{'entrepôt':<12} {'mode':<18} {'secondes':>8} {'Mo (pic)':>8} "
                f"{'attentes':>8} {'rapport Mo':>10}"
            )
            for label, docs in (("sans Data Docs", None), ("avec Data Docs", folder / "docs")):
                if docs:
                    shutil.rmtree(docs, ignore_errors=True)
                elapsed, peak, expectations, size = run(warehouse, docs)
                print(
                    f"{name:<12} {label:<18} {elapsed:>8.1f} {peak:>8.0f} {expectations:>8} "
                    f"{size / 1e6:>10.1f}"
                )
            warehouse.unlink()


if __name__ == "__main__":
    main()
