"""Prepare the demo stack of `make ui` on the bundled sample mirror (samples/pile-demo.yaml).

    python samples/demo_stack.py STATE_DIR

Writes STATE_DIR/prefect-demo.yaml (deployments/prefect.yaml with the demo's parameters
and a warning in each changed description), STATE_DIR/miroir-demo/ (the merged mirror,
as symbolic links) and copies the sample officer's answers into OUTPUTS_DIR, never over
existing files (the output folder of the environment's settings, OPENDATA_DATA_DIR).
Prints what it did, in French.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "samples" / "pile-demo.yaml"
DEPLOYMENTS = ROOT / "deployments" / "prefect.yaml"


def demo_deployments(prefect: dict, demo: dict) -> dict:
    """prefect.yaml's content with the demo's parameters and notes applied."""
    changes = {(item["name"], item["entrypoint"]): item for item in demo["deploiements"]}
    for deployment in prefect["deployments"]:
        change = changes.pop((deployment["name"], deployment["entrypoint"]), None)
        if change is None:
            continue
        deployment["parameters"] = {**deployment.get("parameters", {}), **change["parameters"]}
        deployment["description"] = (
            f"{demo['avertissement'].strip()} {change['note'].strip()} "
            f"— {deployment['description']}"
        )
    if changes:
        unknown = ", ".join(f"{name} ({entrypoint})" for name, entrypoint in changes)
        raise SystemExit(
            f"samples/pile-demo.yaml nomme un déploiement absent de deployments/prefect.yaml : "
            f"{unknown} ; corrigez son nom ou son point d'entrée."
        )
    return prefect


def merge_mirror(folders: list[str], target: Path) -> None:
    """One mirror made of the hosts of several folders (a host in two folders is refused)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for folder in folders:
        for host in sorted((ROOT / folder).iterdir()):
            if not host.is_dir():
                continue
            link = target / host.name
            if link.exists():
                raise SystemExit(f"hôte {host.name} présent deux fois dans le miroir de la démo")
            link.symlink_to(host)


def copy_answers(source: Path, target: Path) -> list[str]:
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for answer in sorted(source.glob("*.csv")):
        if not (target / answer.name).exists():
            shutil.copy2(answer, target / answer.name)
            copied.append(answer.name)
    return copied


def main(state: Path) -> None:
    from tasks.core.settings import Settings

    outputs = Settings.from_env().outputs_dir
    demo = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    prefect = yaml.safe_load(DEPLOYMENTS.read_text(encoding="utf-8"))
    state.mkdir(parents=True, exist_ok=True)
    (state / "prefect-demo.yaml").write_text(
        "# Written by samples/demo_stack.py from deployments/prefect.yaml and "
        "samples/pile-demo.yaml: do not edit.\n"
        + yaml.safe_dump(demo_deployments(prefect, demo), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    merge_mirror(demo["miroir"], state / "miroir-demo")
    answers = outputs / demo["reponses"]["vers"]
    copied = copy_answers(ROOT / demo["reponses"]["depuis"], answers)
    print(
        "Pile de démonstration (miroir d'exemple) : paramètres de samples/pile-demo.yaml "
        f"appliqués aux déploiements ({len(demo['deploiements'])} modifiés, signalés dans "
        "leur description)."
    )
    if copied:
        print(f"Réponses d'exemple de l'agent copiées dans {answers} : {', '.join(copied)}.")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage : python samples/demo_stack.py DOSSIER_ETAT")
    main(Path(sys.argv[1]))
