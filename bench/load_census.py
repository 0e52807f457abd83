"""The census refresh of France: our DuckDB path vs a plain-pandas equivalent.

No national census file is available offline, so this script generates SYNTHETIC
ones in the real layouts: ~35 000 communes (the 647 real codes of the Nord and
generated ones), ~300 columns per file (the columns of warehouse/sources.yaml for the
millésime, plus undeclared ones, as in the real files), `;`, CRLF, a zip holding an
upper-case `.CSV`, masked `s` cells and decimal commas; for each base-cc source and
each millésime of the registry. It then measures, side by side, in one run, each in a
fresh process (so that memory figures stay apart):

  - duckdb: the project's own code, on a warehouse file as in production (memory
    bounded by OPENDATA_DUCKDB_MEMORY, 1 GB by default): `load.load_source` for every
    file (declared columns only, values as text), then `models.build` of every staging
    model and mart (UNPIVOT, masked values, geography of the run, wide marts,
    indicators);
  - pandas: read_csv(usecols, dtype=str) + melt + the same casts, geography and
    aggregation, pivot to the wide mart and the same shares.

Per source and for the whole census, it prints wall time, peak memory (max RSS of
the process, VmHWM) and the pandas/duckdb ratio, with the time split between reading
the files and transforming them.
Run: uv run python bench/load_census.py [--communes 35000] [--colonnes 300]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT / "samples" / "mirror"
BASE_CC = ("insee_evol_struct_pop", "insee_logement", "insee_familles")
ARRONDISSEMENTS = r"^(751(0[1-9]|1[0-9]|20)|132(0[1-9]|1[0-6])|6938[1-9])$"


def commune_codes(count: int) -> list[str]:
    geo = next((SAMPLES / "geo.api.gouv.fr").glob("communes@*"))
    codes = {commune["code"] for commune in json.loads(geo.read_text(encoding="utf-8"))}
    codes |= {f"{dep:02d}{n:03d}" for dep in range(1, 96) if dep != 20 for n in range(1, 400)}
    codes |= {"75056", *(f"751{n:02d}" for n in range(1, 21)), "2A004", "2B033"}
    return sorted(codes)[:count]


def build_files(communes: int, width: int, folder: Path) -> dict[str, list[tuple[int, Path]]]:
    """One zip per base-cc source and registered millésime, written by DuckDB."""
    import duckdb

    from tasks.sources.registry import load_registry

    registry = load_registry()
    conn = duckdb.connect()
    conn.execute("create table codes as select unnest(?) as CODGEO", [commune_codes(communes)])
    files: dict[str, list[tuple[int, Path]]] = {}
    for source_id in BASE_CC:
        source = registry.sources[source_id]
        for millesime in sorted(source.urls_by_millesime):
            declared = [c for c in source.expected_columns(millesime) if c != "CODGEO"]
            extra = [f"P{millesime % 100:02d}_X{i:03d}" for i in range(width - len(declared))]
            cells = []
            for index, name in enumerate([*declared, *extra]):
                value = "round(random() * 5000, 6)::varchar"
                if index % 7 == 3:  # a decimal comma, as in some real columns
                    value = f"replace({value}, '.', ',')"
                cells.append(f"case when random() < 0.01 then 's' else {value} end as \"{name}\"")
            csv_path = folder / f"{source_id}-{millesime}.CSV"
            conn.execute(
                f"copy (select CODGEO, {', '.join(cells)} from codes) to '{csv_path}' "
                "(header, delimiter ';', quote '', new_line '\\r\\n')"
            )
            stem = Path(source.urls_by_millesime[millesime]).name.removesuffix("_csv.zip")
            zipped = folder / f"{source_id}-{millesime}.zip"
            with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.write(csv_path, f"{stem}.CSV")
            csv_path.unlink()
            files.setdefault(source_id, []).append((millesime, zipped))
    return files


MARTS = {
    "insee_evol_struct_pop": "population",
    "insee_logement": "logement",
    "insee_familles": "familles",
}


def run_duckdb(files: dict[str, list[tuple[int, Path]]]) -> int:
    from tasks.core.warehouse import connect
    from tasks.sources import load
    from tasks.sources.registry import load_registry
    from tasks.transform import models

    registry = load_registry()
    folder = next(iter(files.values()))[0][1].parent
    warehouse = folder / f"entrepot-{'-'.join(sorted(files))}.duckdb"
    warehouse.unlink(missing_ok=True)
    conn = connect(warehouse)  # a warehouse on disk, memory bounded as in production
    load.prepare(conn, registry)
    samples = [  # the real référentiel of the Nord and the comparateur sample
        ("geo_communes", 2026, next((SAMPLES / "geo.api.gouv.fr").glob("communes@*"))),
        (
            "geo_communes_associees_deleguees",
            2026,
            next((SAMPLES / "geo.api.gouv.fr").glob("communes_associees_deleguees@*")),
        ),
        ("insee_comparateur", 2022, next(SAMPLES.rglob("base_cc_comparateur_csv.zip"))),
    ]
    generated = [(s, m, path) for s, items in files.items() for m, path in items]
    start = time.perf_counter()
    for source_id, millesime, path in [*samples, *generated]:
        raw = _raw(source_id, millesime, path)
        load.load_source(conn, registry.sources[source_id], [(raw, path)])
    loaded = time.perf_counter()
    counts = models.build(conn, models.discover())
    built = time.perf_counter()
    conn.close()
    warehouse.unlink()
    rows = sum(counts[f"marts.{MARTS[source_id]}"] for source_id in files)
    return rows, loaded - start, built - loaded


def _raw(source_id: str, millesime: int, path: Path):
    from tasks.sources.raw_store import RawFile, sha256_of

    return RawFile(
        source_id,
        f"bench/{path.name}",
        millesime,
        sha256_of(path),
        path.stat().st_size,
        "2026-01-01T00:00:00+00:00",
        path.name,
    )


def run_pandas(files: dict[str, list[tuple[int, Path]]]) -> int:
    """The same load and transform with pandas only: read, melt, cast, relocate, pivot."""
    import numpy as np
    import pandas as pd

    from tasks.sources.registry import load_registry, resolve_template

    registry = load_registry()
    passage = _passage()
    rows, reading, start = 0, 0.0, time.perf_counter()
    for source_id, items in files.items():
        source = registry.sources[source_id]
        frames = []
        for millesime, path in items:
            columns = source.expected_columns(millesime)
            before = time.perf_counter()
            frame = pd.read_csv(path, sep=";", dtype=str, usecols=columns, keep_default_na=False)
            reading += time.perf_counter() - before
            long = frame.melt(id_vars="CODGEO", var_name="code_indicateur", value_name="brute")
            long["millesime"] = millesime
            names = {
                resolve_template(c.source, millesime): c.variable
                for c in source.columns
                if c.variable
            }
            long["variable"] = long["code_indicateur"].map(names)
            frames.append(long)
        long = pd.concat(frames, ignore_index=True)
        text = long["brute"].str.strip()
        long["valeur"] = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
        long["raison"] = np.select(
            [text == "", text.str.lower() == "s"],
            ["non renseignée (cellule vide)", "secret statistique"],
            default=None,
        )
        long = long[~long["CODGEO"].str.match(ARRONDISSEMENTS)]
        long["code_commune"] = long["CODGEO"].map(passage).fillna(long["CODGEO"])
        long["manquant"] = long["valeur"].isna()
        grouped = long.groupby(["millesime", "code_commune", "variable"], sort=False)
        summed = grouped["valeur"].sum().where(~grouped["manquant"].any())
        wide = summed.unstack("variable")
        for share, (part, whole) in _shares(source_id).items():
            wide[share] = (100 * wide[part] / wide[whole].replace(0, np.nan)).round(1)
        rows += len(wide)
    return rows, reading, time.perf_counter() - start - reading


def _passage() -> dict[str, str]:
    associated = next((SAMPLES / "geo.api.gouv.fr").glob("communes_associees_deleguees@*"))
    return {
        item["code"]: item["chefLieu"]
        for item in json.loads(associated.read_text(encoding="utf-8"))
        if item["code"] != item["chefLieu"]
    }


def _shares(source_id: str) -> dict[str, tuple[str, str]]:
    return {
        "insee_evol_struct_pop": {"part_75_ans_plus": ("pop_75_89", "population")},
        "insee_logement": {
            "part_logements_vacants": ("logements_vacants", "logements"),
            "part_residences_secondaires": ("residences_secondaires", "logements"),
            "part_maisons": ("maisons", "logements"),
            "part_proprietaires": ("rp_proprietaires", "residences_principales"),
            "part_hlm": ("rp_hlm", "residences_principales"),
        },
        "insee_familles": {
            "part_familles_monoparentales": ("familles_monoparentales", "familles"),
            "part_80_ans_plus_seules": ("pop_80_plus_seules", "pop_80_plus"),
        },
    }[source_id]


def measure(name: str, files: dict, queue: mp.Queue) -> None:
    start = time.perf_counter()
    rows, reading, transforming = {"duckdb": run_duckdb, "pandas": run_pandas}[name](files)
    elapsed = time.perf_counter() - start
    queue.put((rows, elapsed, reading, transforming, _peak_mb()))


def _peak_mb() -> float:
    """Peak resident memory of this process (VmHWM). Not ru_maxrss: Linux carries the
    parent's peak over into a spawned child, which would hide any smaller figure."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(name: str, files: dict) -> tuple[int, float, float, float, float]:
    return in_fresh_process(measure, name, files, label=name)


def in_fresh_process(target, *args, label: str):
    """Run `target(*args, queue)` in a new process and return what it puts in the queue:
    a fresh process each, so that memory figures stay apart."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get(timeout=1800)
    process.join(timeout=60)
    if process.exitcode != 0:
        sys.exit(f"la mesure {label} a échoué (code {process.exitcode})")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--communes", type=int, default=35000)
    parser.add_argument("--colonnes", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        files = build_files(args.communes, args.colonnes, Path(folder))
        size = sum(path.stat().st_size for items in files.values() for _, path in items)
        count = sum(len(items) for items in files.values())
        print(
            f"Fichiers synthétiques : {count} (3 sources × millésimes du registre), "
            f"{args.communes} communes × {args.colonnes} colonnes chacun, "
            f"{size / 1e6:.0f} Mo compressés, générés en {time.perf_counter() - start:.0f} s"
        )
        print(
            "secondes : total (lecture des fichiers + transformation) ; rapport = pandas / duckdb"
        )
        header = (
            f"{'périmètre':<22} {'lignes':>7} {'duckdb':>17} {'pandas':>17} "
            f"{'rapport':>18} {'Mo duckdb':>9} {'Mo pandas':>9}"
        )
        print(header)
        scopes = [(source_id, {source_id: files[source_id]}) for source_id in BASE_CC]
        scopes.append(("tout le recensement", files))
        for label, scope in scopes:
            rows, fast, fast_read, fast_work, fast_mb = run("duckdb", scope)
            pd_rows, slow, slow_read, slow_work, slow_mb = run("pandas", scope)
            print(
                f"{label:<22} {rows:>7} "
                f"{fast:>5.1f} ({fast_read:>4.1f}+{fast_work:>4.1f}) "
                f"{slow:>5.1f} ({slow_read:>4.1f}+{slow_work:>4.1f}) "
                f"{slow / fast:>4.1f}× ({slow_read / fast_read:.1f}×+{slow_work / fast_work:.1f}×) "
                f"{fast_mb:>9.0f} {slow_mb:>9.0f}"
            )
            if rows != pd_rows:
                print(f"  attention : {rows} lignes (duckdb) contre {pd_rows} (pandas)")


if __name__ == "__main__":
    main()
