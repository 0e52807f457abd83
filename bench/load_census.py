"""The census refresh of France: our DuckDB path vs a plain-pandas equivalent, and the
floor of reading the same bytes on this machine.

No national census file is available offline, so this script generates SYNTHETIC
ones in the real layouts: ~35 000 communes (the real codes of COG 2026, communes and
municipal arrondissements, then generated ones if more are asked for), ~300 columns
per file (the columns of warehouse/sources.yaml for the millésime, plus undeclared
ones, as in the real files), `;`, CRLF, a zip holding an upper-case `.CSV`, masked `s`
cells and decimal commas; for each base-cc source and each millésime of the registry.

The warehouse it starts from is the one a previous refresh left (not measured): the
real national référentiel of COG 2026 (communes, EPCI, movements of communes) and the
real comparateur sample of the MEL, loaded and modelled. It then measures, side by
side, in one run, each in a fresh process (so that memory figures stay apart):

  - duckdb: the project's own code, on a copy of that warehouse file as in production
    (memory bounded by OPENDATA_DUCKDB_MEMORY, 1 GB by default): `load.load_source`
    for every file of a refresh (the référentiel, unchanged, is recognised by its
    sha256 and not read again; each census file is read through Arrow, declared
    columns only, values as text), then `models.build` of every model (UNPIVOT,
    masked values, geography of the run, wide marts, indicators);
  - pandas: read_csv(usecols, dtype=str) + melt + the same casts, geography and
    aggregation, pivot to the wide mart and the same shares;
  - the floor of reading the same files: decompressing the zip members alone (to
    nowhere), and parsing the uncompressed CSV alone with pyarrow (declared columns,
    text, every core) and with DuckDB's read_csv (declared columns, text).

Per source and for the whole census, it prints wall time, peak memory (max RSS of
the process, VmHWM) and the pandas/duckdb ratio, with the time split between reading
the files and transforming them; then the floor and how close the project's reading
gets to it.
Run: uv run python bench/load_census.py [--communes 35000] [--colonnes 300]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT / "samples" / "mirror"
PACKAGE = SAMPLES / "unpkg.com" / "@etalab" / "decoupage-administratif@6.0.0" / "data"
INSEE = SAMPLES / "www.insee.fr" / "fr" / "statistiques" / "fichier"
COG = 2026
# The warehouse of a previous refresh: the real référentiel and comparateur sample.
REFERENCE = (
    ("cog_communes", COG, PACKAGE / "communes.json"),
    ("cog_epci", COG, PACKAGE / "epci.json"),
    ("cog_mouvements", COG, INSEE / "8740222" / "cog_ensemble_2026_csv.zip"),
    ("insee_comparateur", 2022, INSEE / "2521169" / "base_cc_comparateur_csv.zip"),
)
BASE_CC = ("insee_evol_struct_pop", "insee_logement", "insee_familles")
ARRONDISSEMENTS = r"^(751(0[1-9]|1[0-9]|20)|132(0[1-9]|1[0-6])|6938[1-9])$"
MARTS = {
    "insee_evol_struct_pop": "population",
    "insee_logement": "logement",
    "insee_familles": "familles",
}


def commune_codes(count: int) -> list[str]:
    """The real codes of COG 2026 (communes and arrondissements), then generated ones."""
    records = json.loads((PACKAGE / "communes.json").read_text(encoding="utf-8"))
    kinds = {"commune-actuelle", "arrondissement-municipal"}
    codes = {record["code"] for record in records if record["type"] in kinds}
    generated = (f"{dep:02d}{n:03d}" for dep in range(1, 96) if dep != 20 for n in range(1000))
    for code in generated:
        if len(codes) >= count:
            break
        codes.add(code)
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


def reference_warehouse(path: Path) -> None:
    """The warehouse as a previous refresh left it: référentiel and comparateur sample
    loaded, the run's COG recorded, every model built."""
    from tasks.core.warehouse import connect
    from tasks.sources import load
    from tasks.sources.registry import load_registry
    from tasks.transform import models

    registry = load_registry()
    with connect(path) as conn:
        load.prepare(conn, registry)
        for source_id, millesime, file in REFERENCE:
            raw = _raw(source_id, millesime, file)
            load.load_source(conn, registry.sources[source_id], [(raw, file)])
        load.record_execution(conn, registry, None, COG)
        models.build(conn, models.discover())


def run_duckdb(files: dict[str, list[tuple[int, Path]]], warehouse: Path, raws: dict) -> tuple:
    """A refresh of the census on `warehouse` (a copy of the reference warehouse). `raws`:
    the manifest row of each file (its sha256 is computed when it is downloaded)."""
    from tasks.core.warehouse import connect
    from tasks.sources import load
    from tasks.sources.registry import load_registry
    from tasks.transform import models

    registry = load_registry()
    start = time.perf_counter()
    conn = connect(warehouse)  # a warehouse on disk, memory bounded as in production
    load.prepare(conn, registry)
    generated = [(s, m, path) for s, items in files.items() for m, path in items]
    for source_id, _, path in [*REFERENCE, *generated]:
        load.load_source(conn, registry.sources[source_id], [(raws[path], path)])
    load.record_execution(conn, registry, None, COG)
    loaded = time.perf_counter()
    counts = models.build(conn, models.discover())
    conn.close()
    built = time.perf_counter()
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


def run_pandas(files: dict[str, list[tuple[int, Path]]]) -> tuple:
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
    """Communes déléguées and associées of COG 2026 -> their commune (the passage)."""
    records = json.loads((PACKAGE / "communes.json").read_text(encoding="utf-8"))
    return {
        record["code"]: record["chefLieu"]
        for record in records
        if record.get("chefLieu") and record["code"] != record["chefLieu"]
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


def measure(name: str, files: dict, warehouse: Path | None, raws: dict, queue: mp.Queue) -> None:
    start = time.perf_counter()
    if name == "duckdb":
        rows, reading, transforming = run_duckdb(files, warehouse, raws)
    else:
        rows, reading, transforming = run_pandas(files)
    elapsed = time.perf_counter() - start
    queue.put((rows, elapsed, reading, transforming, _peak_mb()))


def measure_floor(files: dict, queue: mp.Queue) -> None:
    """The fastest reads of the same files: seconds for (zip members decompressed to
    nowhere, uncompressed CSV parsed by pyarrow, the same by DuckDB's read_csv)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from tasks.sources.registry import load_registry

    registry, conn = load_registry(), duckdb.connect()
    inflate = parse_arrow = parse_duckdb = 0.0
    for source_id, items in files.items():
        for millesime, path in items:
            columns = registry.sources[source_id].expected_columns(millesime)
            start = time.perf_counter()
            with zipfile.ZipFile(path) as archive, archive.open(archive.namelist()[0]) as f:
                while f.read(1 << 20):
                    pass
            inflate += time.perf_counter() - start
            csv_path = path.with_suffix(".CSV")
            start = time.perf_counter()
            pacsv.read_csv(
                csv_path,
                parse_options=pacsv.ParseOptions(delimiter=";"),
                convert_options=pacsv.ConvertOptions(
                    include_columns=columns, column_types=dict.fromkeys(columns, pa.string())
                ),
            )
            parse_arrow += time.perf_counter() - start
            start = time.perf_counter()
            selected = ", ".join(f'"{name}"' for name in columns)
            conn.execute(
                f"create or replace temp table lu as select {selected} from "
                "read_csv(?, delim = ';', header = true, all_varchar = true)",
                [str(csv_path)],
            )
            parse_duckdb += time.perf_counter() - start
    queue.put((inflate, parse_arrow, parse_duckdb))


def _peak_mb() -> float:
    """Peak resident memory of this process (VmHWM). Not ru_maxrss: Linux carries the
    parent's peak over into a spawned child, which would hide any smaller figure."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(
    name: str, files: dict, reference: Path, raws: dict
) -> tuple[int, float, float, float, float]:
    warehouse = None
    if name == "duckdb":  # a copy of the warehouse of the previous refresh, not measured
        warehouse = reference.with_name(f"entrepot-{'-'.join(sorted(files))}.duckdb")
        shutil.copyfile(reference, warehouse)
    try:
        return in_fresh_process(measure, name, files, warehouse, raws, label=name)
    finally:
        if warehouse:
            warehouse.unlink(missing_ok=True)


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


def scopes(files: dict) -> list[tuple[str, dict]]:
    every = [(source_id, {source_id: files[source_id]}) for source_id in BASE_CC]
    return [*every, ("tout le recensement", files)]


def print_floor(files: dict, reads: dict[str, float]) -> None:
    """The floor of reading, each scope in a fresh process, beside the project's read."""
    for items in files.values():  # the uncompressed CSVs the floor parses (not measured)
        for _, path in items:
            with (
                zipfile.ZipFile(path) as archive,
                archive.open(archive.namelist()[0]) as member,
                path.with_suffix(".CSV").open("wb") as out,
            ):
                shutil.copyfileobj(member, out, 1 << 20)
    print(
        "\nPlancher de lecture des mêmes fichiers (secondes) : décompression seule des "
        "membres zip ; CSV décompressé lu seul par pyarrow, puis par read_csv de DuckDB "
        "(colonnes déclarées, texte) ; projet = chargement des fichiers du recensement "
        "(load_source : lecture Arrow depuis le zip, contrôles, écriture dans l'entrepôt)"
    )
    print(
        f"{'périmètre':<22} {'projet':>7} {'décompression':>13} {'pyarrow CSV':>11} "
        f"{'DuckDB CSV':>10} {'projet / décompression':>22}"
    )
    for label, scope in scopes(files):
        inflate, arrow, duck = in_fresh_process(measure_floor, scope, label="du plancher")
        print(
            f"{label:<22} {reads[label]:>7.2f} {inflate:>13.2f} {arrow:>11.2f} "
            f"{duck:>10.2f} {reads[label] / inflate:>21.1f}×"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--communes", type=int, default=35000)
    parser.add_argument("--colonnes", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        start = time.perf_counter()
        files = build_files(args.communes, args.colonnes, folder)
        size = sum(path.stat().st_size for items in files.values() for _, path in items)
        count = sum(len(items) for items in files.values())
        reference = folder / "entrepot-reference.duckdb"
        every = [*REFERENCE, *((s, m, path) for s, items in files.items() for m, path in items)]
        raws = {path: _raw(source_id, millesime, path) for source_id, millesime, path in every}
        in_fresh_process(_reference_in_process, reference, label="de l'entrepôt de départ")
        print(
            f"Fichiers synthétiques : {count} (3 sources × millésimes du registre), "
            f"{args.communes} communes × {args.colonnes} colonnes chacun, "
            f"{size / 1e6:.0f} Mo compressés ; entrepôt de départ (référentiel du COG "
            f"{COG} et comparateur de la MEL, réels) : prêts en "
            f"{time.perf_counter() - start:.0f} s, hors mesure ; charge de la machine au "
            f"départ : {os.getloadavg()[0]:.1f} ({os.cpu_count()} cœurs)"
        )
        print(
            "secondes : total (lecture des fichiers + transformation) ; rapport = pandas / duckdb"
        )
        print(
            f"{'périmètre':<22} {'lignes':>7} {'duckdb':>17} {'pandas':>17} "
            f"{'rapport':>18} {'Mo duckdb':>9} {'Mo pandas':>9}"
        )
        reads = {}
        for label, scope in scopes(files):
            rows, fast, fast_read, fast_work, fast_mb = run("duckdb", scope, reference, raws)
            pd_rows, slow, slow_read, slow_work, slow_mb = run("pandas", scope, reference, raws)
            reads[label] = fast_read
            print(
                f"{label:<22} {rows:>7} "
                f"{fast:>5.1f} ({fast_read:>4.1f}+{fast_work:>4.1f}) "
                f"{slow:>5.1f} ({slow_read:>4.1f}+{slow_work:>4.1f}) "
                f"{slow / fast:>4.1f}× ({slow_read / fast_read:.1f}×+{slow_work / fast_work:.1f}×) "
                f"{fast_mb:>9.0f} {slow_mb:>9.0f}"
            )
            if rows != pd_rows:
                print(f"  attention : {rows} lignes (duckdb) contre {pd_rows} (pandas)")
        print_floor(files, reads)


def _reference_in_process(path: Path, queue: mp.Queue) -> None:
    reference_warehouse(path)
    queue.put(None)


if __name__ == "__main__":
    main()
