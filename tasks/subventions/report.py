"""The French report of a subsidies build: what was read, what to confirm, what to fix."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from tasks.quality.schema.validate import Validation
from tasks.subventions import beneficiaries, identifiers, regroupings
from tasks.subventions.config import CommuneSubventions
from tasks.subventions.model import Issue, Reading, TotalCheck
from tasks.subventions.scdl import Row, yearly_totals

_ORIGINS = {
    "api": "trouvé par l'API",
    "agent": "saisi par l'agent",
    "ambigu": "AMBIGU : à choisir",
    "introuvable": "INTROUVABLE : à saisir",
    identifiers.NOT_SEARCHED: "NON RECHERCHÉ : API injoignable, relancez plus tard",
}


@dataclass
class Build:
    commune: CommuneSubventions
    documents: list[Path]
    readings: list[Reading]
    found: list[identifiers.Identified]
    siret_attribuant: str | None
    columns: list[str]
    rows: list[Row]
    csv_path: Path
    validation: Validation
    checks: list[TotalCheck]
    issues: list[Issue]
    out: Path
    notes: list[Issue] = field(default_factory=list)  # worth a look, never blocking
    proposals: regroupings.Regroupings = field(default_factory=regroupings.Regroupings)
    unreachable: identifiers.Unreachable | None = None  # the API could not be asked

    @property
    def publiable(self) -> bool:
        return self.validation.publiable and not self.issues

    def headline(self) -> str:
        down = ", dont l'API Recherche d'entreprises injoignable" if self.unreachable else ""
        problems = f"{self._problem_count()} problème(s) à corriger{down}"
        state = (
            "fichier SCDL valide" if self.publiable else f"fichier SCDL NON publiable ({problems})"
        )
        return (
            f"Subventions aux associations — {self.commune.nom_attribuant} : "
            f"{len(self.rows)} ligne(s) lue(s) "
            f"dans {len(self.documents)} document(s), {state}"
        )

    def _problem_count(self) -> int:
        blocking = [p for p in self.validation.problems if p.niveau != "avertissement"]
        return len(blocking) + len(self.issues)

    def markdown(self) -> str:
        sections = [
            f"# {self.headline()}",
            self._summary(),
            self._totals(),
            self._issues(),
            self._notes(),
            self._validation(),
            self._groups(),
            self._proposals(),
            self._identifiers(),
            self._lines(),
            self._skipped(),
        ]
        return "\n\n".join(s for s in sections if s) + "\n"

    def _summary(self) -> str:
        years = sorted({r.annee for r in self.rows if r.annee is not None})
        return "\n".join(
            [
                f"- Fichier SCDL : `{self.csv_path}`",
                f"- Documents lus : {', '.join(p.name for p in self.documents)}",
                f"- Années : {', '.join(map(str, years)) or 'aucune'}",
                f"- Attribuant : {self.commune.nom_attribuant}, SIRET "
                f"{self.siret_attribuant or self._unknown_siret()}",
                f"- À relire et corriger : `{self.out / 'identifiants.csv'}` (identifiants) et "
                f"`{self.out / 'decisions.csv'}` (année et date de chaque tableau) ; vos "
                "corrections l'emportent à la prochaine exécution.",
            ]
        )

    def _unknown_siret(self) -> str:
        if self.unreachable and self.unreachable.siret_attribuant:
            return f"INCONNU ({identifiers.NOT_SEARCHED_TEXT})"
        return "INCONNU (voir la validation)"

    def _totals(self) -> str:
        lines = [
            "## Totaux par année",
            "",
            "| année | lignes | total lu |",
            "|---|---|---|",
        ]
        counts = Counter(r.annee for r in self.rows)
        for annee, total in yearly_totals(self.rows).items():
            lines.append(f"| {annee or 'inconnue'} | {counts[annee]} | {_euros(total)} |")
        lines += [
            "",
            "## Totaux des documents",
            "",
            "Chaque ligne TOTAL d'un document est comparée aux lignes lues dans son tableau.",
            "",
            "| ligne TOTAL | total imprimé | lignes lues | somme lue | concordance |",
            "|---|---|---|---|---|",
        ]
        for check in self.checks:
            lines.append(
                f"| {check.place} | {_euros(check.printed)} | {check.covers} "
                f"| {_euros(check.read)} | {'oui' if check.agrees else '**NON**'} |"
            )
        if not self.checks:
            lines.append("| — | aucun document n'imprime de total | | | |")
        return "\n".join(lines)

    def _notes(self) -> str:
        if not self.notes:
            return ""
        lines = ["## Remarques (n'empêchent pas la publication)", ""]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines)

    def _issues(self) -> str:
        if not self.issues:
            return ""
        lines = ["## À corriger ou à compléter avant publication", ""]
        lines += [f"- {issue}" for issue in self.issues]
        return "\n".join(lines)

    def _validation(self) -> str:
        verdict = (
            "conforme au schéma SCDL subventions 2.1.1"
            if self.validation.conforme
            else "NON conforme au schéma SCDL subventions 2.1.1"
        )
        lines = [f"## Validation : {verdict}", ""]
        by_line = {number: row for number, row in enumerate(self.rows, start=2)}
        unsearched = {
            graphie
            for item in self.found
            if item.origine == identifiers.NOT_SEARCHED
            for graphie in item.graphies
        }
        for problem in self.validation.problems:
            row = by_line.get(problem.ligne or 0)
            fix = self._where_to_fix(problem.colonne, row, unsearched) if row else ""
            where = f" (lu dans : {row.place}{fix})" if row else ""
            lines.append(f"- [{problem.niveau}] {problem}{where}")
        if not self.validation.problems:
            lines.append("Aucun problème.")
        return "\n".join(lines)

    def _where_to_fix(self, column: str | None, row: Row, unsearched: set[str]) -> str:
        """The file the officer edits for a cell the documents do not give (nothing to
        edit for an identifier the API could not be asked for: run again later)."""
        if column in ("idBeneficiaire", "rnaBeneficiaire"):
            if row.graphie in unsearched:
                return f" ; {identifiers.NOT_SEARCHED_TEXT}"
            return f" ; à saisir dans identifiants.csv, ligne de « {row.graphie} »"
        if column == "idAttribuant" and self.unreachable and self.unreachable.siret_attribuant:
            return (
                f" ; SIRET de la commune {identifiers.NOT_SEARCHED_TEXT}, ou indiquez "
                "`idAttribuant` dans catalog/subventions.yaml"
            )
        if column in ("dateConvention", "datesPeriodeVersement", "referenceDecision"):
            return (
                f" ; à répondre dans decisions.csv, {row.place.fichier} tableau {row.place.tableau}"
            )
        return ""

    def _groups(self) -> str:
        merged = [item for item in self.found if len(item.graphies) > 1]
        lines = [
            "## Bénéficiaires regroupés (à confirmer)",
            "",
            beneficiaries.rule_text(),
            "",
            "| nom retenu | graphies des documents (années) |",
            "|---|---|",
        ]
        for item in merged:
            spellings = "; ".join(
                f"« {name} » ({', '.join(map(str, years)) or 'année inconnue'})"
                for name, years in item.graphies.items()
            )
            lines.append(f"| {item.nom_retenu} | {spellings} |")
        if not merged:
            lines.append("| — | aucun regroupement |")
        lines += [
            "",
            "Pour séparer ou regrouper autrement, changez la colonne `groupe` dans "
            "identifiants.csv.",
        ]
        return "\n".join(lines)

    def _proposals(self) -> str:
        found = self.proposals
        lines = [
            "## Regroupements possibles (à confirmer, jamais appliqués d'office)",
            "",
            regroupings.rule_text(),
            "",
        ]
        if found.proposals:
            lines += [
                "| bénéficiaire (graphies, années) | à regrouper peut-être avec | pourquoi "
                "| clé à recopier dans `groupe` |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {_spellings(proposal.group)} | {_spellings(proposal.into)} "
                f"| {' ; '.join(proposal.reasons)} | `{proposal.into.cle}` |"
                for proposal in found.proposals
            ]
        else:
            lines.append("Aucune proposition.")
        if found.vague:
            lines.append("")
        for vague in found.vague:
            names = ", ".join(f"« {other.nom_retenu} »" for other in vague.containers[:3])
            more = "…" if len(vague.containers) > 3 else ""
            lines.append(
                f"- « {vague.group.nom_retenu} » figure dans {len(vague.containers)} autres "
                f"noms ({names}{more}) : trop vague pour une proposition ; s'il désigne l'un "
                "d'eux, changez sa colonne `groupe` dans identifiants.csv."
            )
        if found.refused:
            refused = ", ".join(f"« {graphie} »" for graphie in sorted(found.refused))
            lines += ["", f"Propositions écartées par l'agent (« non ») : {refused}."]
        if found.proposals:
            lines += ["", regroupings.how_to_confirm()]
        return "\n".join(lines)

    def _identifiers(self) -> str:
        lines = [
            "## Identifiants des bénéficiaires",
            "",
            identifiers.matching_rule_text(),
            "",
            "| bénéficiaire | SIRET | RNA | origine | candidats |",
            "|---|---|---|---|---|",
        ]
        for item in self.found:
            lines.append(
                f"| {item.nom_retenu} | {item.siret or '—'} | {item.rna or '—'} "
                f"| {_ORIGINS.get(item.origine, item.origine)} | {'; '.join(item.candidats)} |"
            )
        return "\n".join(lines)

    def _lines(self) -> str:
        """Every subsidy of the file beside where it was read, to check against the
        documents (a year whose total disagrees is checked here)."""
        lines = [
            "## Subventions lues, année par année",
            "",
            "| ligne du fichier | année | bénéficiaire (graphie du document) | objet | montant "
            "| lu dans |",
            "|---|---|---|---|---|---|",
        ]
        for number, row in enumerate(self.rows, start=2):
            lines.append(
                f"| {number} | {row.annee or 'inconnue'} | {row.values['nomBeneficiaire']} "
                f"(« {row.graphie} ») | {row.values['objet']} "
                f"| {_euros(Decimal(row.values['montant']))} | {row.place} |"
            )
        return "\n".join(lines)

    def _skipped(self) -> str:
        skipped = [(place, why) for r in self.readings for place, why in r.skipped]
        if not skipped:
            return ""
        lines = ["## Lignes des documents écartées (jamais des subventions)", ""]
        lines += [f"- {place} : {why}" for place, why in skipped]
        return "\n".join(lines)


def _spellings(item: identifiers.Identified) -> str:
    """« Foot » (2019) ; « FOOT » (2020)."""
    return " ; ".join(
        f"« {name} » ({', '.join(map(str, years)) or 'année inconnue'})"
        for name, years in item.graphies.items()
    )


def _euros(amount: Decimal) -> str:
    """1500.5 -> « 1 500,50 € » (narrow no-break space between thousands)."""
    return f"{amount:,.2f} €".replace(",", "\u202f").replace(".", ",")
