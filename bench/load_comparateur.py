"""Load a France-size comparateur file: our DuckDB path vs a pandas equivalent.

The real base_cc_comparateur.csv covers ~35 000 communes; the sample has 95. This
script builds a file of that size by repeating the 95 real MEL rows under new
(synthetic) codes, then measures, side by side in one run:
  - duckdb: the project's own code (load.load_source + the staging model: read_csv,
    UNPIVOT, masked values as NULL with their reason);
  - pandas: read_csv(dtype=str) + melt + the same casts in pandas.
It prints wall time and peak memory (RSS growth of a child process) for each.
Run: uv run python bench/load_comparateur.py [--communes 35000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "samples" / "reference" / "base_cc_comparateur_RP2022_MEL95.csv"


def build_file(communes: int, folder: Path) -> Path:
    header, *rows = SAMPLE.read_text(encoding="utf-8").splitlines()
    lines = [header]
    for index in range(communes):
        code = f"{1000 + index // 1000 % 90:02d}{index % 1000:03d}"[-5:]
        lines.append(code + rows[index % len(rows)][5:])
    path = folder / "base_cc_comparateur_csv.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("base_cc_comparateur.csv", "\n".join(lines) + "\n")
    return path


def run_duckdb(path: Path) -> int:
    import duckdb

    from tasks.sources import load
    from tasks.sources.raw_store import RawFile, sha256_of
    from tasks.sources.registry import load_registry
    from tasks.transform import models

    registry = load_registry()
    raw = RawFile(
        "insee_comparateur",
        "bench",
        2022,
        sha256_of(path),
        path.stat().st_size,
        "2026-01-01T00:00:00+00:00",
        path.name,
    )
    conn = duckdb.connect()
    load.prepare(conn, registry)
    load.load_source(conn, registry.sources["insee_comparateur"], [(raw, path)])
    staging = [m for m in models.discover() if m.name == "stg_insee_comparateur"]
    return models.build(conn, staging)["staging.stg_insee_comparateur"]


def run_pandas(path: Path) -> int:
    import pandas as pd

    frame = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    long = frame.melt(id_vars="CODGEO", var_name="code_indicateur", value_name="valeur_brute")
    text = long["valeur_brute"].str.strip()
    long["valeur"] = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    long["raison_absence"] = text.map(
        {"": "non renseignée (cellule vide)", "s": "secret statistique"}
    )
    return len(long)


def measure(name: str, path: Path, queue: mp.Queue) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    rows = {"duckdb": run_duckdb, "pandas": run_pandas}[name](path)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((name, rows, elapsed, (peak - before) / 1024))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--communes", type=int, default=35000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = build_file(args.communes, Path(folder))
        print(f"Fichier : {args.communes} communes, {path.stat().st_size / 1e6:.1f} Mo compressé")
        print(f"{'méthode':<8} {'lignes':>10} {'secondes':>9} {'mémoire (Mo)':>13}")
        context = mp.get_context("spawn")  # a fresh process each: memory figures stay apart
        for name in ("duckdb", "pandas"):
            queue = context.Queue()
            process = context.Process(target=measure, args=(name, path, queue))
            process.start()
            process.join(timeout=600)
            if process.exitcode != 0:
                sys.exit(f"la mesure {name} a échoué (code {process.exitcode})")
            result = queue.get(timeout=5)
            print(f"{result[0]:<8} {result[1]:>10} {result[2]:>9.2f} {result[3]:>13.0f}")


if __name__ == "__main__":
    main()
