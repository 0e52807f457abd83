"""The French summary a data officer reads at the end of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tasks.core.settings import PROJECT_ROOT
from tasks.core.text import french_number
from tasks.publication.plan import PublicationReport
from tasks.quality.gate import Outcome
from tasks.sources.extract import Fetched
from tasks.sources.load import LoadReport
from tasks.transform.exports import Export


@dataclass
class Summary:
    fetched: list[Fetched]
    loads: list[LoadReport]
    mel_count: int
    cog: int | None
    epci: str
    territoire: str
    outcomes: list[Outcome]
    exports: list[Export]
    warehouse: Path
    model_counts: dict[str, int] = field(default_factory=dict)
    publication: PublicationReport | None = None
    waiting: dict[str, list[str]] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    docs: Path | None = None

    def headline(self) -> str:
        passed = sum(o.success for o in self.outcomes)
        blocked = f", {len(self.blocked)} mart(s) bloqué(s)" if self.blocked else ""
        return (
            f"Rafraîchissement terminé : {self.mel_count} communes de la MEL, "
            f"{passed}/{len(self.outcomes)} contrôles réussis, "
            f"{len(self.exports)} fichier(s) écrit(s){blocked}"
        )

    def markdown(self) -> str:
        return "\n".join(["# Rafraîchissement annuel : résumé", "", *self._lines("- ")])

    def text(self) -> str:
        return "\n".join(["Rafraîchissement annuel : résumé", "", *self._lines("  - ")])

    def _lines(self, bullet: str) -> list[str]:
        discovered = [item.discovered for item in self.fetched if item.discovered]
        return [
            *(["Millésimes découverts :"] if discovered else []),
            *(bullet + found.describe() for found in discovered),
            "Sources lues :",
            *(bullet + _fetched(item) for item in self.fetched),
            "Chargement dans l'entrepôt :",
            *(bullet + _loaded(report) for report in self.loads),
            f"Communes de la MEL trouvées : {self.mel_count} (EPCI {self.epci}, COG {self.cog})",
            f"Territoire de l'exécution : {self.territoire}",
            *self._quality(bullet),
            *(["Marts en attente de données (ni contrôlés ni exportés) :"] if self.waiting else []),
            *(
                f"{bullet}{mart} : vide ; parmi les sources qu'il lit, jamais chargées : "
                f"{', '.join(sources)}"
                for mart, sources in self.waiting.items()
            ),
            "Fichiers écrits :",
            *(
                f"{bullet}{_shown(e.path)} ({french_number(e.rows)} lignes, territoire)"
                for e in self.exports
            ),
            f"Entrepôt : {_shown(self.warehouse)}",
            'Pour explorer : uv run opendata-mel sql "select * from marts.communes where is_mel"',
            *(["", *self.publication.text().splitlines()] if self.publication else []),
        ]

    def _quality(self, bullet: str) -> list[str]:
        passed = sum(o.success for o in self.outcomes)
        warnings = [o for o in self.outcomes if not o.success and o.severity == "warning"]
        return [
            f"Contrôles qualité : {passed} réussi(s), {len(self.outcomes) - passed} en échec "
            f"dont {len(warnings)} avertissement(s) non bloquant(s)",
            *(f"{bullet}avertissement : {o.describe()}" for o in warnings),
            *(
                f"{bullet}BLOQUÉ : {mart} ({why}) : ni exporté ni publié, l'entrepôt garde sa "
                "dernière version validée"
                for mart, why in self.blocked.items()
            ),
            *([f"Rapport qualité détaillé (Data Docs) : {_shown(self.docs)}"] if self.docs else []),
            "Résultats en clair : uv run opendata-mel qualite (ou make quality)",
        ]


def _fetched(item: Fetched) -> str:
    raw = item.raw
    if raw is None:
        return f"{item.source_id}, indicateur {item.indicateur} : {item.status}"
    part = f", indicateur {item.indicateur}" if item.indicateur else ""
    return (
        f"{raw.source_id}{part}, millésime {raw.millesime} : {item.status}, "
        f"{french_number(raw.size)} octets, sha256 {raw.sha256}"
    )


def _loaded(report: LoadReport) -> str:
    state = "déjà chargé, non rechargé" if report.skipped else "chargé"
    line = f"{report.source_id} {report.millesime} : {french_number(report.rows)} lignes ({state})"
    ignored = report.ignored_columns
    if ignored:
        shown = ", ".join(ignored[:8]) + (", …" if len(ignored) > 8 else "")
        line += f" ; {len(ignored)} colonne(s) non déclarée(s) ignorée(s) : {shown}"
    return line


def summarize(
    settings, registry, fetched, loads, counts, validation, exported, waiting=None
) -> Summary:
    mel_count, cog = mel_membership(settings.warehouse)
    return Summary(
        fetched,
        loads,
        mel_count,
        cog,
        registry.territoire.epci_is_mel,
        territory(settings.warehouse),
        validation.outcomes,
        exported,
        settings.warehouse,
        counts,
        waiting=waiting or {},
        blocked=dict(validation.blocked),
        docs=validation.docs,
    )


def mel_membership(warehouse: Path) -> tuple[int, int | None]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        count, cog = conn.execute(
            "select count(*) filter (where is_mel), max(millesime_cog) from marts.communes"
        ).fetchone()
    return count, cog


def territory(warehouse: Path) -> str:
    """« EPCI Métropole Européenne de Lille (200093201) : 95 communes »."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        code, communes = conn.execute(
            "select territoire, (select count(*) from marts.communes where dans_territoire) "
            "from ref.execution"
        ).fetchone()
        nom = conn.execute(
            "select 'EPCI ' || nom_epci from marts.epci where code_epci = ? union all "
            "select 'commune ' || nom_commune from marts.communes where code_commune = ? "
            "and type_commune = 'commune-actuelle' limit 1",
            [code, code],
        ).fetchone()
    label = nom[0] if nom else "inconnu"
    return f"{label} ({code}) : {communes} commune(s)"


def _shown(path: Path) -> str:
    for base in (Path.cwd(), PROJECT_ROOT):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return str(path)
