"""Regroupings the strict grouping rule misses, proposed to the data officer and never
applied by the program.

Two groups are proposed for one regrouping when, compared on normalised names
(beneficiaries.normalise: accents, case, punctuation, abbreviations):
- all the words of one name appear in the other, side by side and in order (« Foot »
  in « US Sailly Foot », « Sailly en Fête » in « Comité Sailly en Fête »): whole words,
  so « Foot » is not in « Football »;
- or they carry the same SIRET or the same RNA.

Never proposed: two groups whose SIRET (or RNA) are both known and differ, which are
two legal units; a group one of whose spellings the officer marked « non » in
`groupe_propose`. A name contained in more than MAX_CONTAINERS others (« Foot » in
« US Sailly Foot », « Foot loisirs », « École de foot »…) is too vague to say which one
it is: instead of one proposal per name, the report says it once.

The proposal goes on the rows of the contained group (or, for a shared identifier,
of the shorter name): the key of the other group, which the officer confirms by
copying it into the `groupe` column; the existing rule for a changed `groupe`
(tasks/subventions/identifiers.py) then applies it at the next run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from tasks.subventions.beneficiaries import normalise, sort_key
from tasks.subventions.identifiers_file import REFUSED, Identified

MAX_CONTAINERS = 3
_SEPARATOR = " | "  # between proposed keys, inside the cell


@dataclass
class Proposal:
    """Move the spellings of `group` into `into`, for `reasons` (French)."""

    group: Identified
    into: Identified
    reasons: list[str]


@dataclass
class Vague:
    """A name contained in too many others to propose any of them."""

    group: Identified
    containers: list[Identified]


@dataclass
class Regroupings:
    proposals: list[Proposal] = field(default_factory=list)
    vague: list[Vague] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)  # spellings marked « non »

    def cells(self) -> dict[str, str]:
        """Spelling → its `groupe_propose` cell: the keys proposed, or « non »."""
        keys: dict[str, list[str]] = defaultdict(list)
        for proposal in self.proposals:
            for graphie in proposal.group.graphies:
                keys[graphie].append(proposal.into.cle)
        cells = {graphie: _SEPARATOR.join(found) for graphie, found in keys.items()}
        return {**cells, **dict.fromkeys(self.refused, REFUSED)}


def propose(identified: Iterable[Identified], refused: Iterable[str] = ()) -> Regroupings:
    """The regroupings worth the officer's look, in the order of the groups' names."""
    groups = [
        item
        for item in sorted(identified, key=lambda item: (sort_key(item.nom_retenu), item.cle))
        if not item.absent
    ]
    refused = set(refused) & {graphie for item in groups for graphie in item.graphies}
    pairs: dict[tuple[str, str], Proposal] = {}
    vague = []
    for item, containers in _containment(groups):
        containers = [other for other in containers if _compatible(item, other)]
        if len(containers) > MAX_CONTAINERS:
            vague.append(Vague(item, containers))
            continue
        for other in containers:
            pairs[(item.cle, other.cle)] = Proposal(item, other, ["nom contenu dans l'autre"])
    for item, other, reason in _shared_identifiers(groups):
        moved, kept = sorted((item, other), key=_length)
        proposal = pairs.get((moved.cle, kept.cle)) or pairs.get((kept.cle, moved.cle))
        if proposal:
            proposal.reasons.insert(0, reason)
        else:
            pairs[(moved.cle, kept.cle)] = Proposal(moved, kept, [reason])
    proposals = sorted(
        (p for p in pairs.values() if not refused & set(p.group.graphies)),
        key=lambda p: (sort_key(p.group.nom_retenu), sort_key(p.into.nom_retenu)),
    )
    vague = [v for v in vague if not refused & set(v.group.graphies)]
    return Regroupings(proposals, vague, refused)


def _containment(groups: list[Identified]) -> list[tuple[Identified, list[Identified]]]:
    """Each group with the groups whose name contains its own, through an index of the
    words (a commune can have thousands of beneficiaries)."""
    forms = {item.cle: _words(item) for item in groups}
    having: dict[str, set[str]] = defaultdict(set)  # word → keys of the groups using it
    for cle, names in forms.items():
        for words in names:
            for word in words:
                having[word].add(cle)
    by_cle = {item.cle: item for item in groups}
    found = []
    for item in groups:
        keys: set[str] = set()
        for short in filter(None, forms[item.cle]):
            candidates = set.intersection(*(having[word] for word in short)) - {item.cle}
            keys |= {cle for cle in candidates if any(_inside(short, long) for long in forms[cle])}
        containers = sorted((by_cle[cle] for cle in keys), key=lambda o: sort_key(o.nom_retenu))
        if containers:
            found.append((item, containers))
    return found


def _words(item: Identified) -> set[tuple[str, ...]]:
    """The normalised names of a group, as word sequences (one per spelling, usually
    the same; several once the officer has regrouped spellings)."""
    return {tuple(normalise(graphie).split()) for graphie in item.graphies}


def _inside(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """`short` appears in `long` as consecutive whole words, and is shorter."""
    size = len(short)
    if not size or size >= len(long):
        return False
    return any(long[start : start + size] == short for start in range(len(long) - size + 1))


def _compatible(one: Identified, other: Identified) -> bool:
    """False when their identifiers say they are two legal units."""
    return not any(
        mine and theirs and mine != theirs
        for mine, theirs in ((one.siret, other.siret), (one.rna, other.rna))
    )


def _shared_identifiers(groups: list[Identified]) -> list[tuple[Identified, Identified, str]]:
    """Pairs of groups with the same SIRET or RNA (and no other identifier that differs)."""
    found = []
    for column, label in (("siret", "même SIRET"), ("rna", "même RNA")):
        holders: dict[str, list[Identified]] = defaultdict(list)
        for item in groups:
            if getattr(item, column):
                holders[getattr(item, column)].append(item)
        for value, items in holders.items():
            for index, item in enumerate(items):
                for other in items[index + 1 :]:
                    if _compatible(item, other):
                        found.append((item, other, f"{label} {value}"))
    return found


def _length(item: Identified) -> tuple[int, str]:
    """The shorter name moves into the longer one; ties: alphabetical order."""
    return (min((len(words) for words in _words(item)), default=0), sort_key(item.nom_retenu))


def rule_text() -> str:
    """The rule, in French, for the report."""
    return (
        "Ces regroupements ne sont JAMAIS appliqués d'office : ce sont des pistes que la "
        "règle stricte ne retient pas. Deux groupes sont proposés quand, comparés sous leur "
        "forme normalisée, tous les mots de l'un figurent dans l'autre, à la suite et dans "
        "le même ordre (« Foot » dans « US Sailly Foot », « Sailly en Fête » dans « Comité "
        "Sailly en Fête » ; mots entiers : « Foot » n'est pas dans « Football »), ou quand "
        "ils ont le même SIRET ou le même RNA. Jamais quand leurs SIRET (ou RNA), connus "
        "tous les deux, diffèrent : ce sont deux associations. Un nom contenu dans plus de "
        f"{MAX_CONTAINERS} autres est trop vague pour une proposition : il est seulement "
        "signalé."
    )


def how_to_confirm() -> str:
    return (
        "Pour confirmer : dans identifiants.csv, sur chaque ligne du bénéficiaire, recopiez "
        "la clé de la colonne `groupe_propose` dans la colonne `groupe` (une seule s'il y en "
        "a plusieurs) ; au passage suivant, les deux groupes n'en font plus qu'un (nom "
        "retenu : la graphie de l'année la plus récente), recherché à nouveau dans l'API. "
        f"Pour écarter une proposition : écrivez « {REFUSED} » dans `groupe_propose` ; "
        "plus aucun regroupement ne sera proposé pour cette graphie."
    )
