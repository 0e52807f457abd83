"""Group the spellings of a beneficiary across years, by a rule a person can check.

Two spellings are the same beneficiary when their normalised forms are equal, and
nothing else: no similarity score, so a merge can always be explained (and undone by
the data officer in the identifiers file, see tasks/subventions/identifiers.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

# Whole words only, after accents and punctuation are removed. Kept short on purpose:
# each entry must mean one thing in the names of a commune's associations. « ste » is
# left out (Sainte or Société), so is « ass ».
ABBREVIATIONS = {
    "asso": "association",
    "assoc": "association",
    "coop": "cooperative",
    "coope": "cooperative",
    "ape": "association parents eleves",
    "us": "union sportive",
    "st": "saint",
}
SMALL_WORDS = ("de", "du", "des", "la", "le", "les", "l", "d", "et")
_SMALL = frozenset(SMALL_WORDS)
_ACRONYM_DOT = re.compile(r"(?<=\b\w)\.")  # the dots of « G.R.S », « U.S. »
_NOT_WORD = re.compile(r"[\W_]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})


def normalise(name: str) -> str:
    """The form two spellings must share to be grouped: « G.R.S » → « grs »."""
    text = unicodedata.normalize("NFKD", name.casefold().translate(_LIGATURES))
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = _NOT_WORD.sub(" ", _ACRONYM_DOT.sub("", text))
    words = [part for word in text.split() for part in ABBREVIATIONS.get(word, word).split()]
    kept = [word for word in words if word not in _SMALL]
    # A name made of small words only (« Les ») keeps them rather than becoming empty.
    return " ".join(kept or words)


@dataclass
class Group:
    cle: str
    nom_retenu: str
    graphies: dict[str, list[int]] = field(default_factory=dict)  # spelling → sorted years


def group(names_with_years: Iterable[tuple[str, int | None]]) -> list[Group]:
    """One group per normalised form, sorted by retained name; blank names are ignored."""
    years: dict[str, set[int]] = defaultdict(set)
    counts: Counter[str] = Counter()
    for name, year in names_with_years:
        if not name or not name.strip():
            continue
        counts[name] += 1
        if year is not None:
            years[name].add(year)
    spellings: dict[str, list[str]] = defaultdict(list)
    for name in counts:
        spellings[normalise(name)].append(name)
    groups = [
        Group(
            cle=cle,
            nom_retenu=retained_name({name: sorted(years[name]) for name in names}, counts),
            graphies={name: sorted(years[name]) for name in sorted(names, key=sort_key)},
        )
        for cle, names in spellings.items()
    ]
    return sorted(groups, key=lambda item: (sort_key(item.nom_retenu), item.cle))


def retained_name(graphies: dict[str, list[int]], counts: Counter[str] | None = None) -> str:
    """The spelling of the most recent year; ties → the most frequent, then alphabetical."""
    counts = counts or Counter({name: len(found) for name, found in graphies.items()})
    return min(
        graphies,
        key=lambda name: (
            -max(graphies[name], default=-1),
            -counts[name],
            sort_key(name),
            name,
        ),
    )


def sort_key(text: str) -> str:
    """Alphabetical order as a person expects it (accents and case ignored)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def rule_text() -> str:
    """The grouping rule, in French, for the report (built from the tables above)."""
    abbreviations = ", ".join(f"« {short} » → « {long} »" for short, long in ABBREVIATIONS.items())
    small = ", ".join(f"« {word} »" for word in SMALL_WORDS)
    return (
        "Deux graphies d'un bénéficiaire sont regroupées quand leurs formes normalisées "
        "sont identiques, et seulement dans ce cas. Forme normalisée : minuscules, accents "
        "retirés, points des sigles supprimés (« G.R.S » = « GRS »), apostrophes, tirets et "
        f"autres signes remplacés par des espaces, abréviations développées ({abbreviations}), "
        f"petits mots retirés ({small}), espaces multiples réduits à un seul. "
        "Le nom retenu pour un groupe est la graphie de l'année la plus récente ; à égalité, "
        "la plus fréquente. Un regroupement erroné se corrige dans le fichier des "
        "identifiants (colonne « groupe »)."
    )
