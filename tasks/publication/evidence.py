"""The quality evidence published beside each dataset: the French summary of the checks
that gated its latest publication. Nothing in it depends on the run (no date, no run
id): an unchanged dataset keeps a byte-identical file, which is never sent again."""

from __future__ import annotations

from tasks.publication.catalog import Fiche
from tasks.quality.gate import Outcome

_RESULTS = {
    (True, "critical"): "réussi",
    (True, "warning"): "réussi",
    (False, "critical"): "**échec bloquant**",
    (False, "warning"): "avertissement",
}
_SEVERITIES = {"critical": "bloquant", "warning": "avertissement"}


def markdown(fiche: Fiche, outcomes: list[Outcome], remarks: list[str]) -> str:
    """The checks of the fiche's suite with their results and examples of warnings, then,
    for a file that follows a standard, its validation against the official schema."""
    # Named after the mart, not the title: renaming a fiche does not re-send this file.
    lines = [f"# Contrôles de qualité des données « {fiche.name} »"]
    if fiche.suite:
        lines += ["", *_suite(fiche, [o for o in outcomes if o.mart == fiche.suite])]
    if fiche.schema:
        lines += ["", *_schema(fiche, remarks)]
    return "\n".join(lines) + "\n"


def _suite(fiche: Fiche, own: list[Outcome]) -> list[str]:
    warnings = [o for o in own if not o.success]
    lines = [
        "## Contrôles des données",
        "",
        f"Avant chaque publication, le mart `{fiche.mart}` (toutes les communes de France, "
        f"pas seulement ce périmètre) est contrôlé par la suite Great Expectations "
        f"`{fiche.suite}` (fichier `expectations/{fiche.suite}.json` du programme "
        "opendata-mel). Un contrôle **bloquant** en échec empêche toute publication du jeu ; "
        "un **avertissement** ne l'empêche pas et est signalé ci-dessous.",
        "",
        f"Résultat : {len(own)} contrôle(s), {sum(o.success for o in own)} réussi(s), "
        f"{sum(not o.success and o.severity == 'warning' for o in own)} avertissement(s), "
        f"{sum(not o.success and o.severity == 'critical' for o in own)} échec(s) bloquant(s).",
        "",
        "| Règle | Colonne | Gravité | Résultat |",
        "|---|---|---|---|",
        *(
            f"| {_cell(o.rule)} | {_cell(o.column or '—')} | "
            f"{_SEVERITIES.get(o.severity, o.severity)} | {_RESULTS[(o.success, o.severity)]} |"
            for o in own
        ),
    ]
    if warnings:
        lines += ["", "### Écarts constatés", ""]
        lines += [f"- {o.describe()}" for o in warnings]
    return lines


def _schema(fiche: Fiche, remarks: list[str]) -> list[str]:
    name, version = fiche.schema["name"], fiche.schema["version"]
    return [
        f"## Conformité au schéma {name} {version}",
        "",
        f"Avant chaque publication, le fichier est validé contre le schéma officiel "
        f"{name} {version} (schema.data.gouv.fr) : types, valeurs obligatoires, motifs, "
        "listes de valeurs, clé des SIRET, doublons. Un fichier non conforme n'est jamais "
        "publié.",
        "",
        "Résultat : conforme, avec des remarques :" if remarks else "Résultat : conforme.",
        *(f"- {line}" for line in remarks),
    ]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
