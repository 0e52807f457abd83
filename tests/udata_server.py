"""Start the real udata of the tests (tests/udata/serve.py, its own virtualenv), seeded
with the zones of an EPCI and of its communes, read from the COG 2026 package of the
sample mirror (real codes and names): shared by the test session and bench/."""

from __future__ import annotations

import json
import re
import select
import subprocess
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UDATA_VENV = ROOT / ".venv-udata"
EPCI_FILE = ROOT / "samples/mirror/unpkg.com/@etalab/decoupage-administratif@6.0.0/data/epci.json"


class UdataDidNotStart(RuntimeError):
    pass


def seed(epci: str, pool: int, perimetres: list[str]) -> dict:
    """The zones of `epci` and of its communes, `pool` sets of one organisation per code of
    `perimetres`, and one organisation per commune of the EPCI (`bulk`)."""
    epcis = json.loads(EPCI_FILE.read_text(encoding="utf-8"))
    found = next(entry for entry in epcis if entry["code"] == epci)
    zones = [_zone("fr:epci", found["code"], found["nom"])]
    zones += [_zone("fr:commune", m["code"], m["nom"]) for m in found["membres"]]
    members = sorted(m["code"] for m in found["membres"])
    return {"zones": zones, "pool": pool, "perimetres": perimetres, "bulk": members}


def start(python: Path, workdir: Path, plan: dict) -> tuple[subprocess.Popen, dict]:
    """The udata process and what it printed (port, keys, organisations), with `url`."""
    seed_file = workdir / "seed.json"
    seed_file.write_text(json.dumps(plan), encoding="utf-8")
    process = subprocess.Popen(
        [str(python), str(ROOT / "tests" / "udata" / "serve.py"), str(seed_file), str(workdir)],
        stdout=subprocess.PIPE,
        stderr=(workdir / "udata.log").open("w"),
        text=True,
    )
    ready, _, _ = select.select([process.stdout], [], [], 180)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()
        raise UdataDidNotStart(f"udata n'a pas démarré : voir {workdir / 'udata.log'}")
    info = json.loads(line)
    info["url"] = f"http://127.0.0.1:{info['port']}"
    return process, info


def _zone(level: str, code: str, name: str) -> dict:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return {"id": f"{level}:{code}", "code": code, "level": level, "name": name, "slug": slug}
