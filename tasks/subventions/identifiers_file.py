"""The identifiers file: one row per spelling, as the data officer reviews it (CSV for a
spreadsheet: UTF-8 with BOM, `;`), read and checked, and written back atomically.

Its last column, `groupe_propose`, holds the regroupings proposed for the spelling's
group (tasks/subventions/regroupings.py): the key of another group, which the officer
copies into `groupe` to confirm, or their « non » to hear no more of it. A file
written before that column existed is read as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stdnum.fr import siret as siret_number

from tasks.core.errors import InvalidData
from tasks.subventions.beneficiaries import normalise, sort_key
from tasks.subventions.model import Place

REQUIRED = ("graphie", "groupe", "nom_retenu", "siret", "rna", "origine", "candidats", "annees")
PROPOSED = "groupe_propose"
COLUMNS = (*REQUIRED, PROPOSED)
NOT_SEARCHED = "non recherché"  # the API could not be asked: searched at the next run
NOT_SEARCHED_TEXT = "non recherché : API injoignable, relancez plus tard"
ORIGINES = ("api", "ambigu", "introuvable", "agent", NOT_SEARCHED)
REFUSED = "non"  # in groupe_propose: the officer wants no regrouping proposed
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
    # api (found), ambigu, introuvable, agent (the data officer's word), non recherché
    origine: str
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
    groupe_propose: str = ""

    @property
    def refuses_regrouping(self) -> bool:
        return self.groupe_propose.casefold() == REFUSED

    @property
    def regrouped(self) -> bool:
        return self.groupe != normalise(self.graphie)

    @property
    def written(self) -> tuple[str, str] | None:
        """The siret and rna the program wrote on this row; None when it cannot tell (an
        `api` row whose `candidats` cell no longer names one answer)."""
        if self.origine in ("ambigu", "introuvable", NOT_SEARCHED):
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


def candidate_labels(candidats: str) -> list[str]:
    """The Candidate.label() parts of a `candidats` cell."""
    return [part.strip() for part in candidats.split(_SEPARATOR.strip()) if part.strip()]


def answer_labels(candidats: str) -> list[str]:
    """The parts of a `candidats` cell that are answers of the API (no refusal reason,
    no « non recherché » mark)."""
    return [label for label in candidate_labels(candidats) if _label_siret(label) is not None]


def _label_siret(label: str) -> str | None:
    """The SIRET a Candidate.label() starts with ("" for « SIRET inconnu »), else None."""
    first = label.split(_LABEL_PARTS.strip(), 1)[0].strip()
    if re.fullmatch(r"\d{14}", first):
        return first
    return "" if first == "SIRET inconnu" else None


def _recorded_answer(candidats: str) -> tuple[str, str] | None:
    """SIRET and RNA of the single Candidate.label() in a `candidats` cell."""
    labels = candidate_labels(candidats)
    if len(labels) != 1:
        return None
    siret = _label_siret(labels[0])
    if siret is None:
        return None
    rna = _LABEL_RNA.search(labels[0])
    return (siret, rna.group(1).upper() if rna else "")


def write_identifiers(
    path: Path, identified: Iterable[Identified], proposed: Mapping[str, str] | None = None
) -> None:
    """One row per spelling, the retained name first in its group (atomic replace);
    `proposed`: spelling → its `groupe_propose` cell."""
    proposed = proposed or {}
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
                        proposed.get(graphie, ""),
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
    missing = [column for column in REQUIRED if column not in header]
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
        groupe_propose=cells[PROPOSED],
    )


def _invalid(place: Place, what: str, action: str) -> InvalidData:
    return InvalidData(
        what,
        where=f"fichier des identifiants {place}",
        action=f"{action}. Rien n'a été recherché ni écrit.",
    )
