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

The file is read and written in tasks/subventions/identifiers_file.py, and the API
client lives in tasks/subventions/entreprises.py; both are re-exported here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from tasks.core.errors import InvalidData
from tasks.subventions.beneficiaries import Group, normalise, retained_name, sort_key
from tasks.subventions.entreprises import Candidate, EntreprisesClient, SearchRefused
from tasks.subventions.identifiers_file import (
    COLUMNS,
    Identified,
    IdentifierRow,
    candidate_labels,
    read_identifiers,
    write_identifiers,
)

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

MAX_SUGGESTIONS = 5


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
    kept = candidate_labels(next((row.candidats for row in rows if row.candidats), ""))
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
