"""Publishing the whole MEL to a real udata: the MEL and its 95 communes opted in, every
fiche, a first publication then an unchanged yearly rerun, in one run.

What runs, all on loopback: a real udata (the software of data.gouv.fr,
tests/udata/serve.py, its own virtualenv .venv-udata/ made by `make test`), seeded with
the zones of the MEL and of its 95 communes (real codes and names, COG 2026) and one
organisation per commune plus one for the MEL; a counting proxy in front of it
(tests/faulty_proxy.py, no fault set); the Prefect flow `publish` as the yearly refresh
runs it (`--no-dry-run`, the key from the environment, Prefect's ephemeral server).

The warehouse is built first (not measured) by one yearly refresh of every source on
the test mirror: the real files of samples/mirror (COG 2026, movements, comparateur
RP 2022 of the MEL, Filosofi) completed with SYNTHETIC census base-cc, série historique,
CAF and Observatoire files in the real layouts (tests/census_fixtures.py,
tests/social_fixtures.py): every mart then has rows, as in production. The figures of
those synthetic files are examples, never published anywhere: this bench measures
speed, requests and writes, not figures.

Printed: datasets of the plan by outcome, HTTP requests and writes (POST, PUT, DELETE)
seen by the proxy, wall time and time per dataset, the peak memory of the process
(VmHWM), for the first publication and for the rerun; and the plan's summary line.
The communes' SIRET is not known offline: their SCDL catalogue waits for it (the plan
says so); the MEL's is published. Target: the rerun makes zero writes.
Run: uv run python bench/publish_mel.py   (after `make test` has made .venv-udata/)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_memory_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-publication-"))
    os.environ["PREFECT_HOME"] = str(work / "prefect")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.pop("PREFECT_API_URL", None)
    os.environ["OPENDATA_WAREHOUSE"] = str(work / "entrepot" / "opendata.duckdb")
    os.environ["OPENDATA_DATA_DIR"] = str(work / "data")

    import yaml

    from tests import udata_server
    from tests.census_fixtures import write_census
    from tests.faulty_proxy import FaultyProxy
    from tests.mirror_server import MirrorServer
    from tests.social_fixtures import write_social

    python = udata_server.UDATA_VENV / "bin" / "python"
    if not python.exists():
        sys.exit("udata de test absent : lancez d'abord `make test` (il crée .venv-udata/)")

    print("Préparation (non mesurée) : miroir de test, rafraîchissement complet, udata…")
    mirror = work / "mirror"
    shutil.copytree(ROOT / "samples" / "mirror", mirror)
    write_census(mirror)
    write_social(mirror)
    from flows.publish import publish
    from flows.yearly_refresh import yearly_refresh

    with MirrorServer(mirror) as server:
        os.environ["OPENDATA_MIRROR"] = server.url
        yearly_refresh()

    udata_dir = work / "udata"
    udata_dir.mkdir()
    process, info = udata_server.start(
        python, udata_dir, udata_server.seed("200093201", 1, ["mel"])
    )
    try:
        with FaultyProxy(info["url"]) as proxy:
            catalog = work / "catalog"
            shutil.copytree(ROOT / "catalog", catalog)
            config_path = catalog / "publication.yaml"
            config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
            config["environnements"]["demo"]["api"] = f"{proxy.url}/api/1"
            config["perimetres"] = {
                "mel": {
                    **config["perimetres"]["mel"],
                    "organisations": {"demo": info["organisations"][0]["mel"]},
                },
                **{
                    code: {"commune": code, "organisations": {"demo": organisation}}
                    for code, organisation in info["bulk"].items()
                },
            }
            config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
            os.environ["OPENDATA_CATALOG"] = str(catalog)
            os.environ["DATAGOUV_API_KEY_DEMO"] = info["key"]

            rows = []
            for label in ("première publication", "relance inchangée"):
                requests_before, writes_before = len(proxy.requests), len(proxy.writes())
                start = time.perf_counter()
                report = publish(env="demo", dry_run=False)
                elapsed = time.perf_counter() - start
                counted = [p for p in report.datasets if p.action != "sans données"]
                rows.append(
                    (
                        label,
                        len(counted),
                        sum(p.touched for p in counted),
                        len(proxy.requests) - requests_before,
                        len(proxy.writes()) - writes_before,
                        elapsed,
                        elapsed / max(len(counted), 1),
                        report.summary(),
                    )
                )
    finally:
        process.kill()
        process.wait()

    print()
    print(
        f"{'':24} {'jeux':>6} {'modifiés':>9} {'requêtes':>9} {'écritures':>10} "
        f"{'durée':>9} {'par jeu':>9}"
    )
    for label, datasets, touched, requests, writes, elapsed, per, _ in rows:
        print(
            f"{label:24} {datasets:>6} {touched:>9} {requests:>9} {writes:>10} "
            f"{elapsed:>8.1f}s {per:>8.2f}s"
        )
    first, rerun = rows
    print()
    print(f"Débit de la première publication : {first[3] / first[5]:.1f} requêtes/s")
    print(f"Relance / première publication (durée) : {rerun[5] / first[5]:.2f}")
    print(f"Écritures de la relance : {rerun[4]} (objectif : 0)")
    print(f"Pic mémoire du processus (rafraîchissement compris) : {peak_memory_mb():.0f} Mo")
    print(f"Plan, première publication — {first[7]}")
    print(f"Plan, relance — {rerun[7]}")
    print(f"Charge de la machine au départ : {os.getloadavg()[0]:.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
