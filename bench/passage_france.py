"""France in the COG of the run: the national reference, the table de passage and the
real comparateur RP 2018 of all France brought to COG 2026, with the project's own code,
against a plain-pandas passage of the same population.

Real files only, all in the repository: COG 2026 (communes.json and epci.json of
@etalab/decoupage-administratif 6.0.0, INSEE's movements of communes
cog_ensemble_2026_csv.zip) and the comparateur RP 2018 of France (geography COG 2021,
35 010 rows, 45 of them municipal arrondissements). The COG files are first put in a
temporary raw area as a refresh's download does (`RawStore.keep`): not measured. Then,
each in a fresh process (wall time and peak memory, VmHWM, apart), in one run, the
whole way from the officer's import to the exported files:

  0. import of the comparateur RP 2018 (`imports.import_file`, as `opendata-mel
     importer`: payload, zip and layout checked, millésime read in the header, file
     kept in the raw area with its sha256);
  1. référentiel national + table de passage: a new warehouse file (DuckDB memory
     bounded as in production, `warehouse.connect`), `load.load_source` of cog_communes,
     cog_epci and cog_mouvements, `record_execution` (territory by default, COG 2026),
     then `models.build` of intermediate.int_communes and
     intermediate.int_passage_communes with the staging models they read. The passage
     needs the geography of the comparateur in ref.geographies, written by its load
     (step 2): this step writes that row itself ('insee_comparateur', 2018, 2021), so
     that it stands alone; the load of step 2 writes the same row again;
  2. comparateur RP 2018 France -> COG 2026, contrôlé: on the warehouse of step 1,
     `load.load_source` of the comparateur (millésime 2018, read through Arrow),
     `models.build` of every model (the facultative sources never loaded have the
     empty raw tables of `load.prepare`), then the quality gate (`gate.validate`, as
     the publication flow calls it, without Data Docs) on marts.population and
     marts.comparateur;
  3. exports, as the refresh writes them (tasks/transform/steps.py): the marts the gate
     blocked go back to their last validated version (`keep_validated`), then one CSV
     per mart ready for the run's territory (`exports.stage`, the MEL by default), swapped
     in (`exports.commit`);
  4. pandas, même passage: the movements and the comparateur read with pandas, the
     COM -> COM events after 1 January 2021 up to 1 January 2026 applied date by date
     (code -> set of current codes), P18_POP added up into the code of 2026 of each
     code that ends on one commune, dropped for a code that ends on several
     (rétablissement), arrondissements dropped. P18_POP only, where the project
     carries every column of the file into every mart: a floor, not an equivalent.

Times run from the start of each process's work (imports of the project included);
step 2 is split into load, models, import of Great Expectations and the gate, with its
peak memory before the gate too. Then the checks, read in the warehouse of step 2: the
population of France in the file (P18_POP, arrondissements excluded), after the passage
(marts.population, 2018), of the codes that cannot be apportioned (distinct origins of
int_passage_communes), the difference (avant = après + non répartis: 0), the communes of
COG 2026 formed of other codes (the table de passage also maps every commune déléguée
or associée of COG 2026 to its commune, for any geography: hence a second count, from
the codes of the file only, which pandas gives too), the communes left NULL (those
sharing a rétablissement, and Mayotte, whose cells are empty in RP 2018), the MEL (95
communes), and the pandas totals, compared commune by commune.

Targets: national reference + passage under 10 s; comparateur 2018 loaded, passed and
checked under 10 s; peak memory of each process under 1 GB (1 024 Mo). The total of
steps 0 to 3 is printed too (end to end). No assertion:
the figures are printed side by side. The machine's load at the start is printed: the
times are those of a shared 2-core machine.
Run: uv run python bench/passage_france.py
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from queue import Empty

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_census import ARRONDISSEMENTS, _peak_mb  # noqa: E402

MIRROR = ROOT / "samples" / "mirror"
PACKAGE = MIRROR / "unpkg.com" / "@etalab" / "decoupage-administratif@6.0.0" / "data"
FILES = {
    "cog_communes": PACKAGE / "communes.json",
    "cog_epci": PACKAGE / "epci.json",
    "cog_mouvements": MIRROR
    / "www.insee.fr/fr/statistiques/fichier/8740222/cog_ensemble_2026_csv.zip",
}
COMPARATEUR = ROOT / "samples" / "reference" / "base_cc_comparateur_RP2018_FRANCE_csv.zip"
COG, MILLESIME, GEOGRAPHIE = 2026, 2018, 2021
POPULATION = f"P{MILLESIME % 100:02d}_POP"
TARGET_SECONDS, TARGET_MB = 10.0, 1024.0
INTERMEDIATE = ("intermediate.int_communes", "intermediate.int_passage_communes")
CHECKED_MARTS = ("population", "comparateur")


def keep_raw_files(raw_root: Path) -> dict[str, tuple]:
    """The raw area of a refresh: each file kept with its sha256 (not measured)."""
    from tasks.sources.client import Validators
    from tasks.sources.raw_store import RawStore
    from tasks.sources.registry import load_registry

    registry = load_registry()
    store = RawStore(raw_root)
    kept = {}
    for source_id, path in FILES.items():
        scratch = store.scratch(source_id)
        shutil.copyfile(path, scratch)  # keep() moves the download it is given
        raw, _ = store.keep(
            scratch,
            source_id=source_id,
            url=registry.sources[source_id].urls_by_millesime[COG],
            millesime=COG,
            validators=Validators(),
        )
        kept[source_id] = (raw, store.file(raw))
    return kept


def measure_import(raw_root: Path, queue: mp.Queue) -> None:
    """0. The officer's import of the comparateur RP 2018 (`opendata-mel importer`):
    payload and layout checked, millésime read in the header, kept in the raw area."""
    start = time.perf_counter()
    from tasks.sources import imports
    from tasks.sources.raw_store import RawStore
    from tasks.sources.registry import load_registry

    store = RawStore(raw_root)
    source = load_registry().sources["insee_comparateur"]
    raw = imports.import_file(store, source, COMPARATEUR, MILLESIME)
    queue.put((time.perf_counter() - start, _peak_mb(), (raw, store.file(raw))))


def measure_exports(warehouse: Path, outputs: Path, blocked: list[str], queue: mp.Queue) -> None:
    """4. The refresh's exports: blocked marts back to their last validated version (none
    here: an empty table), then one CSV per mart ready, for the run's territory (the
    MEL), written beside its name and swapped in (tasks/transform/steps.py)."""
    start = time.perf_counter()
    from tasks.core.warehouse import connect, keep_validated
    from tasks.transform import exports, models

    keep_validated(warehouse, warehouse.with_name("en_service.duckdb"), blocked)
    every = models.discover()
    with connect(warehouse) as conn:
        waiting = models.awaiting_data(conn, every)
        ready = [
            m.name
            for m in every
            if m.layer == "marts" and m.name not in waiting and m.name not in blocked
        ]
        staged = exports.stage(conn, ready, outputs)
    written = exports.commit(staged)
    size = sum(export.path.stat().st_size for export in written)
    rows = sum(export.rows for export in written)
    queue.put((time.perf_counter() - start, _peak_mb(), (len(written), rows, size)))


def with_upstream(every: list, tables: tuple[str, ...]) -> list:
    """The models `tables` need, in build order (`every` is `models.discover()`)."""
    by_table = {model.table: model for model in every}
    needed, pending = set(), list(tables)
    while pending:
        table = pending.pop()
        if table in needed or table not in by_table:
            continue
        needed.add(table)
        pending += by_table[table].references()
    return [model for model in every if model.table in needed]


def measure_reference(warehouse: Path, kept: dict, queue: mp.Queue) -> None:
    start = time.perf_counter()
    from tasks.core.warehouse import connect
    from tasks.sources import load
    from tasks.sources.registry import load_registry
    from tasks.transform import models

    registry = load_registry()
    conn = connect(warehouse)
    load.prepare(conn, registry)
    for source_id in FILES:
        load.load_source(conn, registry.sources[source_id], [kept[source_id]])
    # Written by the load of the comparateur (step 2): here so that the passage of its
    # geography is built by this step alone.
    conn.execute(
        "insert or replace into ref.geographies values ('insee_comparateur', ?, ?)",
        [MILLESIME, GEOGRAPHIE],
    )
    load.record_execution(conn, registry, None, COG)
    loaded = time.perf_counter()
    counts = models.build(conn, with_upstream(models.discover(), INTERMEDIATE))
    conn.close()
    end = time.perf_counter()
    rows = {table: counts[table] for table in INTERMEDIATE}
    queue.put((end - start, loaded - start, end - loaded, _peak_mb(), rows))


def measure_comparateur(warehouse: Path, kept: dict, queue: mp.Queue) -> None:
    start = time.perf_counter()
    from tasks.core.warehouse import connect
    from tasks.sources import load
    from tasks.sources.registry import load_registry
    from tasks.transform import models

    registry = load_registry()
    conn = connect(warehouse)
    load.load_source(conn, registry.sources["insee_comparateur"], [kept["insee_comparateur"]])
    loaded = time.perf_counter()
    every = models.discover()
    counts = models.build(conn, every)
    conn.close()
    built, built_peak = time.perf_counter(), _peak_mb()
    import duckdb

    from tasks.publication.catalog import load_catalog
    from tasks.quality import gate, suites

    imported = time.perf_counter()
    marts = [m for m in every if m.layer == "marts" and m.name in CHECKED_MARTS]
    # As the quality step does: a read-only connection on the built warehouse.
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        validation = gate.validate(conn, suites.suites_for(marts), load_catalog().published_keys())
    blocked = gate.blocked_marts(validation.outcomes, every)
    end = time.perf_counter()
    failed = [(o.severity, o.describe()) for o in validation.outcomes if not o.success]
    phases = (loaded - start, built - loaded, imported - built, end - imported)
    rows = {f"marts.{mart}": counts[f"marts.{mart}"] for mart in CHECKED_MARTS}
    summary = (len(validation.outcomes), failed, blocked)
    queue.put((end - start, phases, (built_peak, _peak_mb()), rows, summary))


def measure_pandas(queue: mp.Queue) -> None:
    start = time.perf_counter()
    import pandas as pd

    with zipfile.ZipFile(FILES["cog_mouvements"]) as archive:
        member = next(n for n in archive.namelist() if n.startswith("v_mvt_commune"))
        events = pd.read_csv(
            archive.open(member),
            dtype=str,
            usecols=["DATE_EFF", "TYPECOM_AV", "COM_AV", "TYPECOM_AP", "COM_AP"],
        )
    with zipfile.ZipFile(COMPARATEUR) as archive:
        member = next(n for n in archive.namelist() if n.lower() == "base_cc_comparateur.csv")
        frame = pd.read_csv(
            archive.open(member), sep=";", dtype={"CODGEO": str}, usecols=["CODGEO", POPULATION]
        )
    read = time.perf_counter()
    events = events[(events["TYPECOM_AV"] == "COM") & (events["TYPECOM_AP"] == "COM")]
    dates = pd.to_datetime(events["DATE_EFF"])
    events = events[(dates > f"{GEOGRAPHIE}-01-01") & (dates <= f"{COG}-01-01")]
    frame = frame[~frame["CODGEO"].str.match(ARRONDISSEMENTS)]
    current = {code: {code} for code in frame["CODGEO"]}
    # Events of one date at once, dates in order: a code changed twice the same day is
    # followed once, as in the project's table de passage.
    for _, day in events.sort_values("DATE_EFF").groupby("DATE_EFF", sort=True):
        moves = day.groupby("COM_AV")["COM_AP"].agg(set).to_dict()
        for code, now in current.items():
            if not moves.keys().isdisjoint(now):
                current[code] = set().union(*(moves.get(c, {c}) for c in now))
    single = {code: min(now) for code, now in current.items() if len(now) == 1}
    frame = frame.assign(cible=frame["CODGEO"].map(single))
    shared = frame["cible"].isna()
    # min_count: a commune whose cells are all empty (Mayotte in 2018) stays NULL, not 0.
    by_commune = frame[~shared].groupby("cible")[POPULATION].sum(min_count=1).dropna()
    changed = frame[~shared & (frame["cible"] != frame["CODGEO"])]["cible"].nunique()
    split = set().union(*(now for now in current.values() if len(now) > 1))
    empty = set(frame.loc[~shared, "cible"]) - set(by_commune.index)
    end = time.perf_counter()
    totals = {
        "avant": float(frame[POPULATION].sum()),
        "apres": float(by_commune.sum()),
        "non_repartis": float(frame.loc[shared, POPULATION].sum()),
        "origines_non_repartissables": int(shared.sum()),
        "communes_formees_fichier": int(changed),
        "communes_nulles": len(split | empty),
    }
    queue.put((end - start, read - start, end - read, _peak_mb(), totals, by_commune.to_dict()))


def in_fresh_process(target, *args, label: str):
    """Run `target(*args, queue)` in a new process and return what it puts in the queue:
    a fresh process each, so that memory figures stay apart. A child that dies (its
    traceback is on stderr) ends the bench at once instead of leaving it waiting."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except Empty:
            if not process.is_alive():
                sys.exit(f"la mesure {label} a échoué (code {process.exitcode})")
    process.join(timeout=60)
    return result


def checks(warehouse: Path) -> dict:
    """The national checks, read in the warehouse of step 2."""
    import duckdb

    queries = {
        "avant": (
            "select sum(valeur) from staging.stg_insee_comparateur "
            "where millesime = ? and code_indicateur = ? "
            "and not regexp_full_match(code_commune, ?)",
            [MILLESIME, POPULATION, ARRONDISSEMENTS.strip("^$")],
        ),
        "apres": (
            "select sum(population) from marts.population where millesime = ?",
            [MILLESIME],
        ),
        "non_repartis": (
            "select sum(valeur) from staging.stg_insee_comparateur "
            "where millesime = ? and code_indicateur = ? and code_commune in ("
            "  select distinct code_origine from intermediate.int_passage_communes"
            "  where geographie = ? and not repartissable)",
            [MILLESIME, POPULATION, GEOGRAPHIE],
        ),
        "origines_non_repartissables": (
            "select count(distinct code_origine) from intermediate.int_passage_communes "
            "where geographie = ? and not repartissable",
            [GEOGRAPHIE],
        ),
        "communes_formees": (
            "select count(*) from (select code_commune "
            "  from intermediate.int_passage_communes "
            "  where geographie = ? and repartissable group by code_commune "
            "  having count(distinct code_origine) > 1 or any_value(code_origine) <> code_commune)",
            [GEOGRAPHIE],
        ),
        "communes_formees_fichier": (
            "select count(*) from (select code_commune "
            "  from intermediate.int_passage_communes "
            "  where geographie = ? and repartissable and code_origine in ("
            "    select code_commune from staging.stg_insee_comparateur where millesime = ?)"
            "  group by code_commune "
            "  having count(distinct code_origine) > 1 or any_value(code_origine) <> code_commune)",
            [GEOGRAPHIE, MILLESIME],
        ),
        "communes_mel": (
            "select count(*) from marts.population where millesime = ? and is_mel",
            [MILLESIME],
        ),
        "population_mel": (
            "select sum(population) from marts.population where millesime = ? and is_mel",
            [MILLESIME],
        ),
        "communes_nulles": (
            "select count(*) from marts.population where millesime = ? and population is null",
            [MILLESIME],
        ),
    }
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        found = {
            name: conn.execute(sql, params).fetchall()[0][0]
            for name, (sql, params) in queries.items()
        }
        found["par_commune"] = dict(
            conn.execute(
                "select code_commune, population from marts.population "
                "where millesime = ? and population is not null",
                [MILLESIME],
            ).fetchall()
        )
    return found


def print_checks(found: dict, totals: dict, by_commune: dict) -> None:
    def people(value) -> str:
        return "—" if value is None else f"{value:,.0f}".replace(",", " ")

    difference = found["avant"] - found["apres"] - found["non_repartis"]
    totals = {**totals, "ecart": totals["avant"] - totals["apres"] - totals["non_repartis"]}
    found = {**found, "ecart": difference}
    print("\nContrôles (entrepôt de l'étape 2 ; pandas de l'étape 4) :")
    print(f"{'':<66} {'projet':>12} {'pandas':>12}")
    lines = [
        (f"population de France dans le fichier ({POPULATION}, sans arrondissements)", "avant"),
        (f"population de France après passage (COG {COG})", "apres"),
        ("population des communes non répartissables", "non_repartis"),
        ("écart : avant − (après + non répartis), attendu 0", "ecart"),
        ("codes d'origine non répartissables (rétablissements)", "origines_non_repartissables"),
        (
            f"communes du COG {COG} formées d'autres codes (table de passage {GEOGRAPHIE})",
            "communes_formees",
        ),
        (
            "  dont à partir de codes du fichier (fusions, changements de code)",
            "communes_formees_fichier",
        ),
        (f"communes de {MILLESIME} sans population (NULL)", "communes_nulles"),
        ("MEL : communes (is_mel, attendu 95)", "communes_mel"),
        ("MEL : population", "population_mel"),
    ]
    for label, key in lines:
        print(f"{label:<66} {people(found[key]):>12} {people(totals.get(key)):>12}")
    same = all(abs(found[k] - totals[k]) < 0.5 for k in ("avant", "apres", "non_repartis"))
    project = found["par_commune"]
    differing = [
        code
        for code in project.keys() | by_commune.keys()
        if abs((project.get(code) or 0) - (by_commune.get(code) or 0)) >= 0.5
    ]
    verdict = "concordent" if same else "NE CONCORDENT PAS"
    print(
        f"Totaux France projet / pandas : {verdict} ; commune par commune : "
        f"{len(project)} communes (projet), {len(by_commune)} (pandas), "
        f"{len(differing)} différente(s)"
        + (f" (ex. {', '.join(sorted(differing)[:10])})" if differing else "")
    )


def print_gate(summary: tuple) -> None:
    expectations, failed, blocked = summary
    critical = [text for severity, text in failed if severity == "critical"]
    print(
        f"\nContrôle qualité (population, comparateur) : {expectations} attentes, "
        f"{len(critical)} critique(s) en échec, {len(failed) - len(critical)} avertissement(s) ; "
        f"marts bloqués : {', '.join(f'{m} ({why})' for m, why in blocked.items()) or 'aucun'}"
    )
    for severity, text in failed:
        print(f"  - {'CRITIQUE' if severity == 'critical' else 'avertissement'} : {text}")


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        kept = keep_raw_files(folder / "raw")
        size = sum(path.stat().st_size for _, path in kept.values())
        print(
            f"Fichiers réels : COG {COG} (communes, EPCI, mouvements), {size / 1e6:.0f} Mo, "
            f"déposés dans la zone brute en {time.perf_counter() - start:.1f} s (hors mesure), "
            f"et comparateur RP {MILLESIME} France (géographie COG {GEOGRAPHIE}, "
            f"{COMPARATEUR.stat().st_size / 1e6:.0f} Mo), importé ; charge de la machine au "
            f"départ : {load:.1f} ({os.cpu_count()} cœurs)"
        )
        imported = in_fresh_process(measure_import, folder / "raw", label="import")
        kept["insee_comparateur"] = imported[2]
        warehouse = folder / "entrepot.duckdb"
        reference = in_fresh_process(
            measure_reference, warehouse, kept, label="référentiel national"
        )
        comparateur = in_fresh_process(
            measure_comparateur, warehouse, kept, label="comparateur RP 2018"
        )
        found = checks(warehouse)  # before the exports put the blocked marts back
        blocked = list(comparateur[4][2])
        exported = in_fresh_process(
            measure_exports, warehouse, folder / "outputs", blocked, label="exports"
        )
        pandas = in_fresh_process(measure_pandas, label="pandas")

    print_phases(imported, reference, comparateur, exported, pandas)
    print_gate(comparateur[4])
    print_checks(found, pandas[4], pandas[5])
    print_summary(imported, reference, comparateur, exported, pandas)


def print_phases(
    imported: tuple, reference: tuple, comparateur: tuple, exported: tuple, pandas: tuple
) -> None:
    print(f"\n0. Import du comparateur RP {MILLESIME} : {imported[0]:.1f} s")
    _, load_s, build_s, _, rows = reference
    print(
        f"1. Référentiel + passage : chargement {load_s:.1f} s, modèles {build_s:.1f} s ; "
        + ", ".join(f"{table} {count} lignes" for table, count in rows.items())
    )
    _, phases, _, rows, _ = comparateur
    print(
        f"2. Comparateur : chargement {phases[0]:.1f} s, tous les modèles {phases[1]:.1f} s, "
        f"import de Great Expectations {phases[2]:.1f} s, contrôle qualité {phases[3]:.1f} s ; "
        + ", ".join(f"{table} {count} lignes" for table, count in rows.items())
    )
    files, lines, size = exported[2]
    print(
        f"3. Exports du territoire (MEL) : {files} fichiers CSV, {lines} lignes, "
        f"{size / 1e6:.1f} Mo, en {exported[0]:.1f} s"
    )
    print(f"4. pandas : lecture {pandas[1]:.1f} s, passage et somme {pandas[2]:.1f} s")


def print_summary(
    imported: tuple, reference: tuple, comparateur: tuple, exported: tuple, pandas: tuple
) -> None:
    """The final table: each step, its target, and pandas / project side by side."""
    seconds0, peak0 = imported[0], imported[1]
    seconds, peak = reference[0], reference[3]
    seconds2, phases, (built_peak, peak2), *_ = comparateur
    seconds3, peak3 = exported[0], exported[1]
    seconds_pd, peak_pd = pandas[0], pandas[3]
    without_gate = seconds2 - phases[2] - phases[3]
    total = seconds0 + seconds + seconds2 + seconds3
    total_peak = max(peak0, peak, peak2, peak3)
    target = f"< {TARGET_SECONDS:.0f} s, < {TARGET_MB:.0f} Mo"
    rows = [
        (f"0. import du comparateur RP {MILLESIME} (agent)", seconds0, peak0, ""),
        ("1. référentiel national + table de passage", seconds, peak, target),
        ("2. comparateur RP 2018 France → COG 2026, contrôlé", seconds2, peak2, target),
        ("   2 sans le contrôle qualité", without_gate, built_peak, ""),
        ("3. exports CSV du territoire (MEL)", seconds3, peak3, ""),
        ("0 à 3. de bout en bout", total, total_peak, ""),
        ("0 à 3 sans le contrôle qualité", total - phases[2] - phases[3], total_peak, ""),
        ("4. pandas, même passage (P18_POP seule)", seconds_pd, peak_pd, ""),
    ]
    print(
        f"\n{'étape':<51} {'secondes':>8} {'Mo (pic)':>8}  {'cible':<19} {'verdict':<8} "
        f"{'pandas / étape (temps, mémoire)':>31}"
    )
    for label, elapsed, mb, goal in rows:
        verdict = ""
        if goal:
            verdict = "atteinte" if elapsed < TARGET_SECONDS and mb < TARGET_MB else "MANQUÉE"
        ratio = (
            "" if label.startswith("4.") else f"{seconds_pd / elapsed:.2f}×, {peak_pd / mb:.2f}×"
        )
        print(f"{label:<51} {elapsed:>8.1f} {mb:>8.0f}  {goal:<19} {verdict:<8} {ratio:>31}")


if __name__ == "__main__":
    main()
