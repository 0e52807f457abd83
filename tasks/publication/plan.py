"""The publication plan, as a data officer reads it (terminal, Prefect artifact, files)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tasks.publication.reconcile import BLOCKED, DatasetPlan


@dataclass
class PublicationReport:
    env: str
    site: str
    dry_run: bool
    baseline: str
    datasets: list[DatasetPlan] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # Fiches whose mart has never had data (e.g. no commune has built its subsidies yet):
    # nothing to publish, nothing blocked.
    waiting: list[str] = field(default_factory=list)
    # The perimeters published (by default those of the run's territory); none: say why.
    perimetres: list[str] | None = None

    def text(self) -> str:
        mode = "SIMULATION : rien n'est envoyé" if self.dry_run else "publication réelle"
        lines = [
            f"Publication sur {self.site} ({self.env}) — {mode}",
            f"Comparaison avec : {self.baseline}",
        ]
        for plan in self.datasets:
            where = f" [{plan.dataset_id}]" if plan.dataset_id else ""
            lines.append(f"  - {plan.key}{where} « {plan.title} » : {_verdict(plan.action)}")
            if plan.reason:
                lines.append(f"      raison : {plan.reason}")
            for resource in plan.resources:
                line = f"      · {resource.filename} : {resource.action}"
                if resource.changes:
                    line += f" — {resource.changes}"
                lines.append(line)
        touched = sum(plan.touched for plan in self.datasets)
        blocked = sum(plan.action == BLOCKED for plan in self.datasets)
        lines.append(
            f"Bilan : {touched} jeu(x) à créer ou modifier, "
            f"{len(self.datasets) - touched - blocked} inchangé(s), {blocked} bloqué(s)."
        )
        if self.waiting:
            lines.append(f"Sans données, rien à publier : {', '.join(self.waiting)}.")
        if self.perimetres == []:
            lines.append(
                "Aucun périmètre de catalog/publication.yaml dans le territoire de l'exécution : "
                "rien à publier. Pour publier ce territoire, ajoutez-y son entrée (epci: "
                "<SIREN> ou commune: <code>) et son organisation."
            )
        lines += [f"Plan écrit dans {path}" for path in self.files]
        return "\n".join(lines)

    def markdown(self) -> str:
        return "# Plan de publication\n\n```\n" + self.text() + "\n```\n"

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        markdown = folder / f"plan-{self.env}.md"
        as_json = folder / f"plan-{self.env}.json"
        self.files = [markdown, as_json]
        markdown.write_text(self.markdown(), encoding="utf-8")
        document = {k: v for k, v in asdict(self).items() if k != "files"}
        as_json.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")


def _verdict(action: str) -> str:
    return {
        "créer": "jeu à créer",
        "mettre à jour les métadonnées": "métadonnées du jeu à mettre à jour",
    }.get(action, action)
