"""The French summary a data officer reads at the end of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tasks.exports import Export
from tasks.extract import Fetched
from tasks.load import LoadReport
from tasks.quality import Outcome
from tasks.settings import PROJECT_ROOT


@dataclass
class Summary:
    fetched: list[Fetched]
    loads: list[LoadReport]
    mel_count: int
    cog: int | None
    epci: str
    outcomes: list[Outcome]
    exports: list[Export]
    warehouse: Path
    model_counts: dict[str, int] = field(default_factory=dict)

    def markdown(self) -> str:
        return "\n".join(self.lines(markdown=True))

    def text(self) -> str:
        return "\n".join(self.lines(markdown=False))

    def lines(self, markdown: bool) -> list[str]:
        bullet = "- " if markdown else "  - "
        passed = sum(o.success for o in self.outcomes)
        warnings = [o for o in self.outcomes if not o.success and o.severity == "warning"]
        lines = ["# Rafraîchissement annuel : résumé" if markdown else "Rafraîchissement annuel : résumé", ""]
        lines.append("Sources lues :")
        for item in self.fetched:
            raw = item.raw
            lines.append(
                f"{bullet}{raw.source_id}, millésime {raw.millesime} : {item.status}, "
                f"{raw.size:,} octets, sha256 {raw.sha256}".replace(",", " ")
            )
        lines.append("Chargement dans l'entrepôt :")
        for report in self.loads:
            state = "déjà chargé, non rechargé" if report.skipped else "chargé"
            lines.append(f"{bullet}{report.source_id} {report.millesime} : {report.rows} lignes ({state})")
            if report.ignored_columns:
                lines.append(f"{bullet}  colonnes non déclarées ignorées : {', '.join(report.ignored_columns)}")
        lines.append(
            f"Communes de la MEL trouvées : {self.mel_count} (EPCI {self.epci}, COG {self.cog})"
        )
        lines.append(
            f"Contrôles qualité : {passed} réussi(s), {len(self.outcomes) - passed} en échec "
            f"dont {len(warnings)} avertissement(s) non bloquant(s)"
        )
        lines += [f"{bullet}avertissement : {o.describe()}" for o in warnings]
        lines.append("Fichiers écrits :")
        lines += [f"{bullet}{_shown(e.path)} ({e.rows} lignes, communes de la MEL)" for e in self.exports]
        lines.append(f"Entrepôt : {_shown(self.warehouse)}")
        return lines


def mel_membership(warehouse: Path) -> tuple[int, int | None]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        count, cog = conn.execute(
            "select count(*) filter (where is_mel), max(millesime_cog) from marts.communes"
        ).fetchone()
    return count, cog


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        try:
            return str(path.relative_to(PROJECT_ROOT))
        except ValueError:
            return str(path)
