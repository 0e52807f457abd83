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

When the API cannot be reached (ApiUnreachable), what is already known is kept: the
officer's rows, the answers in the cache, and a group's previous `api` rows (its SIRET
and RNA as found before, not checked again). Any other group is written `non
recherché`, its identifiers empty (so that the next run tells the officer's values
from the program's), with the mark NOT_SEARCHED_TEXT and the answers it had before as
suggestions; the next run looks it up.

The file is read and written in tasks/subventions/identifiers_file.py, and the API
client lives in tasks/subventions/entreprises.py; both are re-exported here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from tasks.core.errors import InvalidData
from tasks.subventions.beneficiaries import Group, normalise, retained_name, sort_key
from tasks.subventions.entreprises import (
    ApiUnreachable,
    Candidate,
    EntreprisesClient,
    SearchRefused,
)
from tasks.subventions.identifiers_file import (
    COLUMNS,
    NOT_SEARCHED,
    NOT_SEARCHED_TEXT,
    Identified,
    IdentifierRow,
    answer_labels,
    candidate_labels,
    read_identifiers,
    write_identifiers,
)

__all__ = [
    "COLUMNS",
    "NOT_SEARCHED",
    "NOT_SEARCHED_TEXT",
    "ApiUnreachable",
    "Candidate",
    "EntreprisesClient",
    "Identified",
    "IdentifierRow",
    "SearchRefused",
    "Unreachable",
    "matching_rule_text",
    "read_identifiers",
    "resolve",
    "write_identifiers",
]

MAX_SUGGESTIONS = 5


@dataclass(frozen=True)
class Unreachable:
    """The API could not be reached: why, and what stayed unsearched because of it."""

    error: ApiUnreachable
    groups: list[str]  # nom_retenu of the groups written « non recherché »
    siret_attribuant: bool  # the commune's own SIRET was not found either

    def what(self) -> str:
        """« 9 bénéficiaire(s) non recherché(s), ainsi que le SIRET de la commune »."""
        if not self.groups:
            return "SIRET de la commune non recherché"
        also = ", ainsi que le SIRET de la commune" if self.siret_attribuant else ""
        return f"{len(self.groups)} bénéficiaire(s) non recherché(s){also}"


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
        "dans l'API. Quand l'API est injoignable (connexion impossible, délai dépassé, "
        "erreur 5xx ou 429 qui persiste après les nouveaux essais), ce qui est déjà connu "
        "est gardé (corrections de l'agent, réponses en cache, SIRET et RNA trouvés par "
        "l'API au passage précédent) ; les autres groupes sont marqués « non recherché », "
        "identifiants vides, et seront recherchés au passage suivant."
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
    for item, rows, unverified, earlier in planned:
        if rows:
            identified.append(_from_officer(item, rows))
            continue
        found = _lookup(item, client, code_commune)
        if found.origine == NOT_SEARCHED:
            identified.append(_known_before(found, earlier))
            continue
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
) -> list[tuple[Identified, list[IdentifierRow], list[IdentifierRow], list[IdentifierRow]]]:
    """The groups after the officer's regroupings, each with the officer's rows, the
    rows that can only be told from the program's once the API has answered, and every
    row that is not the officer's (what the program wrote before)."""
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
    earlier: dict[str, list[IdentifierRow]] = defaultdict(list)
    for row in previous:
        if row.by_agent or (row.nom_retenu and row.nom_retenu not in spellings):
            officer[row.groupe].append(row)
            if row.graphie not in present:
                members[row.groupe][row.graphie] = row.annees
            continue
        earlier[row.groupe].append(row)
        if row.written is None:
            unverified[row.groupe].append(row)
    planned = []
    for cle, graphies in members.items():
        original, nom_retenu = retained.get(cle, (None, None))
        if graphies != original:
            nom_retenu = retained_name(graphies)
        absent = not any(graphie.strip() in present for graphie in graphies)
        item = Identified(cle, nom_retenu, None, None, "", [], graphies, absent)
        _check_agreement(cle, officer[cle])
        planned.append((item, officer[cle], unverified[cle], earlier[cle]))
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
    # The mark of an API that was down is stale once the officer has answered.
    kept = [label for label in kept if label != NOT_SEARCHED_TEXT]
    item.candidats = kept or item.candidats
    return item


def _known_before(item: Identified, earlier: list[IdentifierRow]) -> Identified:
    """A group the API could not be asked about: its previous `api` answer when all its
    rows agree on it; else the values of `api` rows that may be the officer's (their
    answer left `candidats`), never dropped; else « non recherché », with the answers
    it had before as suggestions."""
    api_rows = [row for row in earlier if row.origine == "api"]
    values = {row.identifiers for row in api_rows}
    if api_rows and len(api_rows) == len(earlier) and len(values) == 1:
        [(siret, rna)] = values
        if siret or rna:
            item.origine, item.siret, item.rna = "api", siret or None, rna or None
            item.candidats = next((answer_labels(r.candidats) for r in earlier if r.candidats), [])
            return item
    recorded = {row.written for row in api_rows if row.written is not None}
    maybe_officer = [
        row
        for row in api_rows
        if row.written is None and any(row.identifiers) and row.identifiers not in recorded
    ]
    if maybe_officer:
        _check_agreement(item.cle, maybe_officer)
        item.candidats = []
        return _from_officer(item, maybe_officer)
    before = [label for row in earlier for label in answer_labels(row.candidats)]
    item.candidats = list(dict.fromkeys([*item.candidats, *before]))
    return item


def _lookup(item: Identified, client: EntreprisesClient, code_commune: str) -> Identified:
    targets = {item.cle, *(normalise(graphie) for graphie in item.graphies)}
    queries = dict.fromkeys(q.strip() for q in [item.nom_retenu, *item.graphies])
    answered: dict[str, Candidate] = {}
    matches: list[Candidate] = []
    refused: list[str] = []  # why the API would not answer a query, in French
    unreachable = False
    for q in queries:
        try:
            candidates = client.search(q, code_commune, associations_only=True)
        except SearchRefused as refusal:
            refused.append(refusal.reason)
            continue
        except ApiUnreachable:
            unreachable = True  # the answers already read (cache) are kept as suggestions
            break
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
        item.origine = NOT_SEARCHED if unreachable else "introuvable"
        suggestions = [c.label() for c in list(answered.values())[:MAX_SUGGESTIONS]]
        item.candidats = [NOT_SEARCHED_TEXT] * unreachable + refused + suggestions
    return item


def _matching(candidates: list[Candidate], targets: set[str]) -> list[Candidate]:
    found: dict[str, Candidate] = {}
    for candidate in candidates:
        if candidate.est_association and candidate.normalised_names() & targets:
            found.setdefault(candidate.siren, candidate)
    return list(found.values())
