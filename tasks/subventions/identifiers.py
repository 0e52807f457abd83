"""Find the SIRET and RNA of each group of spellings, and keep the data officer's word.

The identifiers file (CSV for a spreadsheet: UTF-8 with BOM, `;`) has one row per
spelling. The data officer reviews it; on the next run their rows win and are never
sent to the API again: a row whose `origine` is `agent`, and a row whose siret or rna
is not the one the program wrote (on an `api` row, the SIRET and RNA of the answer
recorded in its `candidats` cell, or of the API's answer now when that cell names
none; nothing on an `ambigu`/`introuvable` row), or whose `nom_retenu` is none of the
spellings: an officer often forgets to change `origine`. Such rows are written back
with `origine` = `agent`. A row whose `groupe` they changed moves that spelling to the
group of that key, or to a new group.

A search the API refuses (SearchRefused) leaves its group `introuvable`, with the
reason in `candidats`, and the run goes on.

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

from tasks.core.errors import InvalidData
from tasks.subventions.beneficiaries import Group, normalise, retained_name, sort_key
from tasks.subventions.entreprises import Candidate, EntreprisesClient, SearchRefused
from tasks.subventions.model import Place

__all__ = [
    "COLUMNS",
    "Candidate",
    "EntreprisesClient",
    "Identified",
    "IdentifierRow",
    "SearchRefused",
    "matching_rule_text",
    "read_identifiers",
    "resolve",
    "write_identifiers",
]

COLUMNS = ("graphie", "groupe", "nom_retenu", "siret", "rna", "origine", "candidats", "annees")
ORIGINES = ("api", "ambigu", "introuvable", "agent")
MAX_SUGGESTIONS = 5
_SEPARATOR = " | "  # between candidates, inside the cell
_LABEL_PARTS = " – "  # inside a Candidate.label()
_LABEL_RNA = re.compile(r"\bRNA (W\d{9})\b")
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
    def written(self) -> tuple[str, str] | None:
        """The siret and rna the program wrote on this row; None when it cannot tell (an
        `api` row whose `candidats` cell no longer names one answer)."""
        if self.origine in ("ambigu", "introuvable"):
            return ("", "")
        if self.origine == "api":
            return _recorded_answer(self.candidats)
        return None

    @property
    def by_agent(self) -> bool:
        """The row carries the officer's identification (it is never sent to the API):
        `origine` = agent, or a siret/rna other than the one the program wrote."""
        written = self.written
        return self.origine == "agent" or (written is not None and self.identifiers != written)

    @property
    def identifiers(self) -> tuple[str, str]:
        return (self.siret, self.rna)


def _recorded_answer(candidats: str) -> tuple[str, str] | None:
    """SIRET and RNA of the single Candidate.label() in a `candidats` cell."""
    labels = [part.strip() for part in candidats.split(_SEPARATOR.strip()) if part.strip()]
    if len(labels) != 1:
        return None
    first = labels[0].split(_LABEL_PARTS.strip(), 1)[0].strip()
    if re.fullmatch(r"\d{14}", first):
        siret = first
    elif first == "SIRET inconnu":
        siret = ""
    else:
        return None
    rna = _LABEL_RNA.search(labels[0])
    return (siret, rna.group(1).upper() if rna else "")


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
        "suggestions (origine « introuvable »). Une recherche que l'API refuse (nom trop "
        "court, par exemple) laisse le groupe « introuvable », la raison étant notée dans "
        "« candidats ». Dans le fichier des identifiants, l'agent corrige une ligne en "
        "saisissant siret, rna ou nom_retenu (de préférence en écrivant « agent » dans "
        "origine), ou déplace une graphie dans un autre groupe en changeant sa colonne "
        "« groupe ». Une ligne compte comme corrigée même si son origine n'a pas été "
        "changée : siret ou rna différent de celui de la réponse de l'API notée dans "
        "« candidats » (aucun sur une ligne « ambigu » ou « introuvable »), ou nom_retenu "
        "qui n'est aucune des graphies ; elle est alors réécrite avec l'origine « agent ». "
        "Les corrections de l'agent priment au passage suivant et ne sont plus recherchées "
        "dans l'API."
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
    identified = []
    for item, rows, unverified in planned:
        if rows:
            identified.append(_from_officer(item, rows))
            continue
        found = _lookup(item, client, code_commune)
        # An `api` row whose candidats cell names no answer: compared with the API's now.
        now = (found.siret or "", found.rna or "")
        changed = [row for row in unverified if row.identifiers != now]
        if changed:
            _check_agreement(found.cle, changed)
            found = _from_officer(found, changed)
        identified.append(found)
    return sorted(identified, key=lambda item: (sort_key(item.nom_retenu), item.cle))


def _plan(
    groups: list[Group], previous: list[IdentifierRow]
) -> list[tuple[Identified, list[IdentifierRow], list[IdentifierRow]]]:
    """The groups after the officer's regroupings, each with the officer's rows and the
    rows that can only be told from the program's once the API has answered."""
    rows = {row.graphie: row for row in previous}
    # The program only ever writes a spelling as nom_retenu (the officer's rows aside);
    # all of them, not just the group's, so that a regrouped row keeps its old name.
    spellings = {graphie.strip() for item in groups for graphie in item.graphies}
    spellings |= set(rows)
    members: dict[str, dict[str, list[int]]] = defaultdict(dict)
    retained = {}
    for item in groups:
        for graphie, years in item.graphies.items():
            row = rows.get(graphie.strip())
            members[row.groupe if row else item.cle][graphie] = years
        retained[item.cle] = (item.graphies, item.nom_retenu)
    present = {graphie.strip() for item in groups for graphie in item.graphies}
    officer: dict[str, list[IdentifierRow]] = defaultdict(list)
    unverified: dict[str, list[IdentifierRow]] = defaultdict(list)
    for row in previous:
        if row.by_agent or (row.nom_retenu and row.nom_retenu not in spellings):
            officer[row.groupe].append(row)
            if row.graphie not in present:
                members[row.groupe][row.graphie] = row.annees
        elif row.written is None:
            unverified[row.groupe].append(row)
    planned = []
    for cle, graphies in members.items():
        original, nom_retenu = retained.get(cle, (None, None))
        if graphies != original:
            nom_retenu = retained_name(graphies)
        absent = not any(graphie.strip() in present for graphie in graphies)
        item = Identified(cle, nom_retenu, None, None, "", [], graphies, absent)
        _check_agreement(cle, officer[cle])
        planned.append((item, officer[cle], unverified[cle]))
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
                "donnant à l'une une autre valeur dans la colonne « groupe ». Le fichier des "
                "identifiants n'a pas été réécrit.",
            )


def _from_officer(item: Identified, rows: list[IdentifierRow]) -> Identified:
    item.origine = "agent"
    item.siret = next((row.siret for row in rows if row.siret), None)
    item.rna = next((row.rna for row in rows if row.rna), None)
    item.nom_retenu = next((row.nom_retenu for row in rows if row.nom_retenu), item.nom_retenu)
    text = next((row.candidats for row in rows if row.candidats), "")
    kept = [part.strip() for part in text.split(_SEPARATOR.strip()) if part.strip()]
    item.candidats = kept or item.candidats
    return item


def _lookup(item: Identified, client: EntreprisesClient, code_commune: str) -> Identified:
    targets = {item.cle, *(normalise(graphie) for graphie in item.graphies)}
    queries = dict.fromkeys(q.strip() for q in [item.nom_retenu, *item.graphies])
    answered: dict[str, Candidate] = {}
    matches: list[Candidate] = []
    refused: list[str] = []  # why the API would not answer a query, in French
    for q in queries:
        try:
            candidates = client.search(q, code_commune, associations_only=True)
        except SearchRefused as refusal:
            refused.append(refusal.reason)
            continue
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
        suggestions = [c.label() for c in list(answered.values())[:MAX_SUGGESTIONS]]
        item.candidats = refused + suggestions
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
