"""`opendata-mel` with a fault injected at one moment of a real run (tests/test_faults.py).

    python -m tests.fault_cli MOMENT ACTION -- refresh --sources insee_comparateur

MOMENT, in the real code of the run:
  chargement  a source's new rows are in the candidate (tasks/sources/load.py load_source)
  modeles     the first mart starts to build, staging and intermediate rebuilt already
              (tasks/transform/models.py)
  bascule     the candidate is about to replace the warehouse (os.replace in promote)
  verrou      the run holds the lock and starts its candidate (tasks/core/warehouse.py)
ACTION: `tuer` (SIGKILL, as `kill -9`: nothing of the process runs after it) or
`attendre` (wait there until the file $FAULT_GO exists).

On reaching its moment the process first writes $FAULT_MARK, so that the test knows
where it stopped. Fault injection, not a mock: every real function still runs whole;
the hook only decides when the process dies or waits.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import time
from pathlib import Path


def reached(moment: str, action: str) -> None:
    Path(os.environ["FAULT_MARK"]).write_text(moment, encoding="utf-8")
    if action == "tuer":
        os.kill(os.getpid(), signal.SIGKILL)
    go = Path(os.environ["FAULT_GO"])
    while not go.exists():
        time.sleep(0.05)


def hook(module, name: str, fires, hit, *, after: bool) -> None:
    """Wrap `module.name`: `fires(result, *args)` (after the call) or `fires(*args)`
    (before it) says whether this call is the moment."""
    original = getattr(module, name)

    @functools.wraps(original)
    def wrapped(*args, **kwargs):
        if not after and fires(*args):
            hit()
        result = original(*args, **kwargs)
        if after and fires(result, *args):
            hit()
        return result

    setattr(module, name, wrapped)


def install(moment: str, hit) -> None:
    from tasks.core import warehouse
    from tasks.sources import load
    from tasks.transform import models

    first = _first()
    candidate = warehouse.candidate_path(Path(os.environ["OPENDATA_WAREHOUSE"]))
    moments = {  # where, and which call is the moment
        "chargement": (load, "load_source", lambda report, *_: not report.skipped and first()),
        "modeles": (models, "_require_raw_tables", lambda _, m: m.layer == "marts" and first()),
        "bascule": (os, "replace", lambda source, *_: Path(source) == candidate),
        "verrou": (warehouse, "start_candidate", lambda *_: first()),
    }
    module, name, fires = moments[moment]
    hook(module, name, fires, hit, after=moment == "chargement")


def _first():
    """True the first time it is called only."""
    calls = []

    def first() -> bool:
        calls.append(True)
        return len(calls) == 1

    return first


def main() -> int:
    moment, action, separator, *argv = sys.argv[1:]
    assert separator == "--" and action in ("tuer", "attendre"), sys.argv
    install(moment, functools.partial(reached, moment, action))
    from flows.cli import main as cli

    return cli(argv)


if __name__ == "__main__":
    sys.exit(main())
