"""Find the SIRET and RNA of each group of spellings, and keep the data officer's word.

The identifiers file (CSV for a spreadsheet: UTF-8 with BOM, `;`) has one row per
spelling. The data officer reviews it; on the next run their rows win and are never
sent to the API again: a row whose `origine` is `agent`, a row `ambigu`/`introuvable`
whose siret or rna they filled, and a row whose `groupe` they changed (which moves
that spelling to the group of that key, or to a new group).

The API client lives in tasks/subventions/entreprises.py; it is re-exported here.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from stdnum.fr import siret as siret_number

from tasks.errors import InvalidData
from tasks.subventions.beneficiaries import Group, normalise, retained_name, sort_key
from tasks.subventions.entreprises import Candidate, EntreprisesClient
from tasks.subventions.model import Place

__all__ = [
    "COLUMNS",
    "Candidate",
    "EntreprisesClient",
    "Identified",
    "IdentifierRow",
    "matching_rule_text",
    "read_identifiers",
    "resolve",
    "write_identifiers",
]

COLUMNS = ("graphie", "groupe", "nom_retenu", "siret", "rna", "origine", "candidats", "annees")
ORIGINES = ("api", "ambigu", "introuvable", "agent")
MAX_SUGGESTIONS = 5
_SEPARATOR = " | "  # between candidates, inside the cell
_RNA = re.compile(r"W\d{9}")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


@dataclass
class Identified:
    """A group of spellings and who it designates."""

    cle: str
    nom_retenu: str
    siret: str | None
    rna: str | None
    origine: str  # api (found), ambigu, introuvable, agent (the data officer's word)
    candidats: list[str]  # Candidate.label() of the match(es) or suggestions
    graphies: dict[str, list[int]] = field(default_factory=dict)
    # True when none of its spellings is in the documents read: a correction of the
    # data officer kept so that it is not lost.
    absent: bool = False


@dataclass(frozen=True)
class IdentifierRow:
    """One row of the identifiers file, as the data officer left it."""

    place: Place
    graphie: str
    groupe: str
    nom_retenu: str
    siret: str
    rna: str
    origine: str
    candidats: str
    annees: list[int]

    @property
    def regrouped(self) -> bool:
        return self.groupe != normalise(self.graphie)

    @property
    def by_agent(self) -> bool:
        """The row carries the officer's identification (it is never sent to the API)."""
        filled = bool(self.siret or self.rna)
        return self.origine == "agent" or (self.origine in ("ambigu", "introuvable") and filled)


def by_spelling(identified: Iterable[Identified]) -> dict[str, Identified]:
    """Spelling as typed in the documents → its group."""
    return {graphie: item for item in identified for graphie in item.graphies}


def matching_rule_text() -> str:
    """The identification rule, in French, for the report."""
    return (
        "Chaque groupe est cherché dans l'API Recherche d'entreprises, parmi les "
        "associations ayant un établissement dans la commune, d'abord avec le nom retenu, "
        "puis, si rien ne correspond, avec chacune des autres graphies. Une association "
        "correspond quand la forme normalisée de son nom complet, de sa raison sociale ou "
        "de son sigle est égale à celle du groupe (ou d'une de ses graphies). Une seule "
        "correspondance : son SIRET (siège) et son RNA sont repris (origine « api »). "
        "Plusieurs : rien n'est choisi, elles sont listées (origine « ambigu »). Aucune : "
        "les identifiants restent vides, les réponses de l'API sont listées comme simples "
        "suggestions (origine « introuvable »). Dans le fichier des identifiants, l'agent "
        "corrige une ligne en saisissant siret, rna ou nom_retenu et en écrivant « agent » "
        "dans origine (un siret ou rna saisi sur une ligne « ambigu » ou « introuvable » "
        "compte aussi), ou déplace une graphie dans un autre groupe en changeant sa colonne "
        "« groupe » : ses corrections priment au passage suivant et ne sont plus "
        "recherchées dans l'API."
    )


def resolve(
    groups: Iterable[Group],
    client: EntreprisesClient,
    code_commune: str,
    previous: Iterable[IdentifierRow] = (),
) -> list[Identified]:
    """Identify each group: the officer's rows first, the API for the others.

    The officer's rows are checked (no contradictory SIRET in a group) before any
    request is sent."""
    planned = _plan(list(groups), list(previous))
    identified = [
        _from_officer(item, rows) if rows else _lookup(item, client, code_commune)
        for item, rows in planned
    ]
    return sorted(identified, key=lambda item: (sort_key(item.nom_retenu), item.cle))


def _plan(
    groups: list[Group], previous: list[IdentifierRow]
) -> list[tuple[Identified, list[IdentifierRow]]]:
    """The groups after the officer's regroupings, each with the officer's rows."""
    rows = {row.graphie: row for row in previous}
    members: dict[str, dict[str, list[int]]] = defaultdict(dict)
    retained = {}
    for item in groups:
        for graphie, years in item.graphies.items():
            row = rows.get(graphie.strip())
            members[row.groupe if row else item.cle][graphie] = years
        retained[item.cle] = (item.graphies, item.nom_retenu)
    present = {graphie.strip() for item in groups for graphie in item.graphies}
    officer: dict[str, list[IdentifierRow]] = defaultdict(list)
    for row in previous:
        if row.by_agent:
            officer[row.groupe].append(row)
            if row.graphie not in present:
                members[row.groupe][row.graphie] = row.annees
    planned = []
    for cle, graphies in members.items():
        original, nom_retenu = retained.get(cle, (None, None))
        if graphies != original:
            nom_retenu = retained_name(graphies)
        absent = not any(graphie.strip() in present for graphie in graphies)
        item = Identified(cle, nom_retenu, None, None, "", [], graphies, absent)
        _check_agreement(cle, officer[cle])
        planned.append((item, officer[cle]))
    return planned


def _check_agreement(cle: str, rows: list[IdentifierRow]) -> None:
    for column in ("siret", "rna"):
        values = {getattr(row, column): row for row in rows if getattr(row, column)}
        if len(values) > 1:
            first, second = list(values.values())[:2]
            raise InvalidData(
                f"le groupe « {cle} » a deux {column} différents : "
                f"{getattr(first, column)} ({first.place}) et "
                f"{getattr(second, column)} ({second.place})",
                where=first.place.fichier,
                action=f"gardez un seul {column} pour ce groupe, ou séparez ces graphies en "
                "donnant à l'une une autre valeur dans la colonne « groupe ». Rien n'a été "
                "recherché ni écrit.",
            )


def _from_officer(item: Identified, rows: list[IdentifierRow]) -> Identified:
    item.origine = "agent"
    item.siret = next((row.siret for row in rows if row.siret), None)
    item.rna = next((row.rna for row in rows if row.rna), None)
    item.nom_retenu = next((row.nom_retenu for row in rows if row.nom_retenu), item.nom_retenu)
    text = next((row.candidats for row in rows if row.candidats), "")
    item.candidats = [part.strip() for part in text.split(_SEPARATOR.strip()) if part.strip()]
    return item


def _lookup(item: Identified, client: EntreprisesClient, code_commune: str) -> Identified:
    targets = {item.cle, *(normalise(graphie) for graphie in item.graphies)}
    queries = dict.fromkeys(q.strip() for q in [item.nom_retenu, *item.graphies])
    answered: dict[str, Candidate] = {}
    matches: list[Candidate] = []
    for q in queries:
        candidates = client.search(q, code_commune, associations_only=True)
        for candidate in candidates:
            answered.setdefault(candidate.siren, candidate)
        matches = _matching(candidates, targets)
        if matches:
            break
    if len(matches) == 1:
        item.origine, item.siret, item.rna = "api", matches[0].siret, matches[0].rna
        item.candidats = [matches[0].label()]
    elif matches:
        item.origine, item.candidats = "ambigu", [match.label() for match in matches]
    else:
        item.origine = "introuvable"
        item.candidats = [c.label() for c in list(answered.values())[:MAX_SUGGESTIONS]]
    return item


def _matching(candidates: list[Candidate], targets: set[str]) -> list[Candidate]:
    found: dict[str, Candidate] = {}
    for candidate in candidates:
        if candidate.est_association and candidate.normalised_names() & targets:
            found.setdefault(candidate.siren, candidate)
    return list(found.values())


def write_identifiers(path: Path, identified: Iterable[Identified]) -> None:
    """One row per spelling, the retained name first in its group (atomic replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partiel")
    with partial.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(COLUMNS)
        for item in identified:
            order = sorted(item.graphies, key=lambda g: (g != item.nom_retenu, sort_key(g), g))
            for graphie in order:
                writer.writerow(
                    [
                        graphie,
                        item.cle,
                        item.nom_retenu,
                        item.siret or "",
                        item.rna or "",
                        item.origine,
                        _SEPARATOR.join(item.candidats),
                        ", ".join(str(year) for year in item.graphies[graphie]),
                    ]
                )
    partial.replace(path)


def read_identifiers(path: Path) -> list[IdentifierRow]:
    """The rows of the file, all checked; none when the file does not exist yet."""
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidData(
            "le fichier des identifiants n'est pas encodé en UTF-8",
            where=str(path),
            action="dans le tableur, enregistrez-le au format « CSV UTF-8 » avec le "
            "point-virgule comme séparateur",
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=";")
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise InvalidData(
            f"colonne(s) absente(s) du fichier des identifiants : {', '.join(missing)}",
            where=f"{path}, ligne 1 (en-tête)",
            action=f"rétablissez l'en-tête {';'.join(COLUMNS)} (séparateur point-virgule), "
            "ou supprimez le fichier pour qu'il soit réécrit (ses corrections seraient "
            "perdues). Rien n'a été recherché ni écrit.",
        )
    reader.fieldnames = header
    rows: dict[str, IdentifierRow] = {}
    for number, record in enumerate(reader, start=2):
        row = _row(Place(str(path), ligne=number), record)
        if row is None:
            continue
        if row.graphie in rows:
            raise _invalid(
                row.place,
                f"la graphie « {row.graphie} » figure deux fois (aussi {rows[row.graphie].place})",
                "gardez une seule ligne par graphie",
            )
        rows[row.graphie] = row
    return list(rows.values())


def _row(place: Place, record: dict[str, str | None]) -> IdentifierRow | None:
    cells = {column: (record.get(column) or "").strip() for column in COLUMNS}
    if not any(cells.values()):
        return None  # an empty line left by the spreadsheet
    if not cells["graphie"]:
        raise _invalid(place, "la colonne graphie est vide", "remettez la graphie du document")
    siret = _SPACES.sub("", cells["siret"])
    if siret and not re.fullmatch(r"\d{14}", siret):
        raise _invalid(
            place,
            f"SIRET « {cells['siret']} » invalide pour « {cells['graphie']} » : il doit "
            "compter 14 chiffres",
            "corrigez-le (14 chiffres) ou videz la cellule ; si le tableur l'affiche en "
            "notation scientifique (2,16E+13), mettez la colonne au format texte et retapez-le",
        )
    if siret and not siret_number.is_valid(siret):
        raise _invalid(
            place,
            f"SIRET « {siret} » invalide pour « {cells['graphie']} » : sa clé de contrôle "
            "est fausse (faute de frappe ?)",
            "recopiez-le depuis l'annuaire des entreprises ou videz la cellule",
        )
    rna = cells["rna"].upper()
    if rna and not _RNA.fullmatch(rna):
        raise _invalid(
            place,
            f"RNA « {cells['rna']} » invalide pour « {cells['graphie']} »",
            "un numéro RNA s'écrit W suivi de 9 chiffres (W591234567) ; corrigez-le ou "
            "videz la cellule",
        )
    origine = cells["origine"].lower()
    if origine not in ORIGINES:
        raise _invalid(
            place,
            f"origine « {cells['origine']} » inconnue pour « {cells['graphie']} »",
            f"écrivez l'une de : {', '.join(ORIGINES)} (« agent » pour une correction)",
        )
    return IdentifierRow(
        place=place,
        graphie=cells["graphie"],
        groupe=cells["groupe"] or normalise(cells["graphie"]),
        nom_retenu=cells["nom_retenu"],
        siret=siret,
        rna=rna,
        origine=origine,
        candidats=cells["candidats"],
        annees=sorted({int(year) for year in re.findall(r"\b\d{4}\b", cells["annees"])}),
    )


def _invalid(place: Place, what: str, action: str) -> InvalidData:
    return InvalidData(
        what,
        where=f"fichier des identifiants {place}",
        action=f"{action}. Rien n'a été recherché ni écrit.",
    )
