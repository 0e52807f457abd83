"""The publication plan, as a data officer reads it (terminal, Prefect artifact, files)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tasks.publication import files
from tasks.publication.reconcile import BLOCKED, INCOMPLETE, NO_DATA, WAITING, DatasetPlan


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
    perimeter_names: dict[str, str | None] = field(default_factory=dict)

    def text(self) -> str:
        mode = "SIMULATION : rien n'est envoyé" if self.dry_run else "publication réelle"
        lines = [
            f"Publication sur {self.site} ({self.env}) — {mode}",
            f"Comparaison avec : {self.baseline}",
        ]
        for organisation, perimetres in self.groups():
            lines.append(f"Organisation {organisation} :")
            for code, plans in perimetres:
                lines.append(f"  Périmètre {code} — {self.perimeter_names.get(code) or code} :")
                lines += self._dataset_lines([p for p in plans if p.action != NO_DATA])
                empty = sorted({p.key.split("/")[0] for p in plans if p.action == NO_DATA})
                if empty:
                    lines.append(f"    sans lignes pour ce périmètre : {', '.join(empty)}")
        lines.append(self.summary())
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

    def summary(self) -> str:
        """The plan in one line: what changes, what does not, what is held back."""
        shown = [p for p in self.datasets if p.action != NO_DATA]
        touched = sum(p.touched for p in shown)
        blocked = sum(p.action == BLOCKED for p in shown)
        incomplete = sum(p.action == INCOMPLETE for p in shown)
        waiting = sum(p.action == WAITING for p in shown)
        organisations = {p.organisation or p.perimetre for p in self.datasets}
        return (
            f"Bilan : {len(shown)} jeu(x) pour {len({p.perimetre for p in self.datasets})} "
            f"périmètre(s) et {len(organisations)} organisation(s) : {touched} à créer ou "
            f"modifier, {len(shown) - touched - blocked - incomplete - waiting} inchangé(s), "
            f"{blocked} bloqué(s), {waiting} en attente d'une source, {incomplete} à compléter ; "
            f"{sum(p.archives for p in shown)} ancienne(s) version(s) conservée(s)."
        )

    def groups(self) -> list[tuple[str, list[tuple[str, list[DatasetPlan]]]]]:
        """The plans by organisation, then by perimeter, in the order they were run."""
        by_organisation: dict[str, dict[str, list[DatasetPlan]]] = {}
        for plan in self.datasets:
            # Without an organisation (a dry run), each perimeter stands alone.
            organisation = plan.organisation or f"non déclarée (périmètre {plan.perimetre})"
            perimetres = by_organisation.setdefault(organisation, {})
            perimetres.setdefault(plan.perimetre or "", []).append(plan)
        return [(org, list(perimetres.items())) for org, perimetres in by_organisation.items()]

    @staticmethod
    def _dataset_lines(plans: list[DatasetPlan]) -> list[str]:
        lines = []
        for plan in plans:
            where = f" [{plan.dataset_id}]" if plan.dataset_id else ""
            lines.append(f"    - {plan.key}{where} « {plan.title} » : {_verdict(plan.action)}")
            if plan.reason:
                lines.append(f"        raison : {plan.reason}")
            for resource in plan.resources:
                line = f"        · {resource.filename} : {resource.action}"
                if resource.changes:
                    line += f" — {resource.changes}"
                lines.append(line)
        return lines

    def markdown(self) -> str:
        return "# Plan de publication\n\n```\n" + self.text() + "\n```\n"

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        markdown = folder / f"plan-{self.env}.md"
        as_json = folder / f"plan-{self.env}.json"
        self.files = [markdown, as_json]
        files.write_text(markdown, self.markdown())
        document = {k: v for k, v in asdict(self).items() if k != "files"}
        files.write_text(as_json, json.dumps(document, ensure_ascii=False, indent=2))


def _verdict(action: str) -> str:
    return {
        "créer": "jeu à créer",
        "mettre à jour les métadonnées": "métadonnées du jeu à mettre à jour",
    }.get(action, action)
