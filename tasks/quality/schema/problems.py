"""Build the French problems of the SCDL validation, one per cell, row or file defect."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from stdnum.fr import siret as stdnum_siret

ERREUR = "erreur"  # the standard rejects the file
AVERTISSEMENT = "avertissement"  # validata only warns
DATE = "date"  # our own calendar checks, beyond the standard

ANNUAIRE = "vérifiez le numéro sur annuaire-entreprises.data.gouv.fr"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FRENCH_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


@dataclass(frozen=True)
class Problem:
    """One problem, for a data officer: « titre : colonne X, ligne N — correction »."""

    ligne: int | None  # row as a spreadsheet shows it: header = 1, first data row = 2
    colonne: str | None  # the schema's column name (or the label as written if unknown)
    titre: str
    detail: str
    correction: str
    niveau: str  # ERREUR, AVERTISSEMENT or DATE

    def __str__(self) -> str:
        where = [f"colonne {self.colonne}"] if self.colonne else []
        where += [f"ligne {self.ligne}"] if self.ligne is not None else []
        head = f"{self.titre} : {', '.join(where)}" if where else self.titre
        return f"{head} — {self.correction}"


# Each digit's contribution to a Luhn sum, as bytes.translate tables: kept as is, or
# doubled with the digits of the double added (7 → 14 → 1 + 4 = 5).
_KEPT = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED = bytes.maketrans(b"0123456789", bytes((2 * d) // 10 + (2 * d) % 10 for d in range(10)))
LA_POSTE = "356000000"  # its establishments' SIRETs have no Luhn key (stdnum's rule)
LA_POSTE_SIEGE = "35600000000048"


def luhn_valid(digits: str) -> bool:
    """The Luhn key of ASCII digits, as stdnum.luhn.is_valid says, at a tenth of its cost:
    two table lookups and two sums in C instead of a Python loop over the digits."""
    data = digits.encode("ascii")
    return (sum(data[::-2].translate(_KEPT)) + sum(data[-2::-2].translate(_DOUBLED))) % 10 == 0


@functools.lru_cache(maxsize=8192)  # the attribuant's SIRET repeats on every row
def is_siret(value: str) -> bool:
    """stdnum.fr.siret.is_valid on 14 digits: the SIREN's key and the SIRET's key."""
    if len(value) == 14 and value.isascii() and value.isdigit():
        if value.startswith(LA_POSTE) and value != LA_POSTE_SIEGE:
            key = sum(value.encode("ascii").translate(_KEPT)) % 5 == 0  # digits' sum
        else:
            key = luhn_valid(value)
        return key and luhn_valid(value[:9])
    # Other digits (full-width « ０ »…), which stdnum turns into ASCII ones: rare, so its
    # own code decides.
    return bool(re.fullmatch(r"\d{14}", value)) and stdnum_siret.is_valid(value)


# French messages for cells and rows


def suggest_number(cell: str) -> str | None:
    """« 1 500,50 € » → « 1500.50 », or None when it is not a number at all.

    With both separators, the last one is the decimal mark: « 1.500,50 » (French) and
    « 1,500.50 » (English) are both 1500.50."""
    text = re.sub(r"[\s\u00a0\u202f€]|euros?", "", cell, flags=re.IGNORECASE)
    if "," in text and "." in text and text.rindex(".") > text.rindex(","):
        text = text.replace(",", "")
    elif "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        Decimal(text)
    except InvalidOperation:
        return None
    return text


def suggest_date(cell: str) -> str | None:
    """« 05/12/2016 » → « 2016-12-05 »; « 2017-30-05 » → « 2017-05-30 » when it exists."""
    match = FRENCH_DATE.fullmatch(cell.strip())
    if match:
        day, month, year = (int(x) for x in match.groups())
    elif ISO_DATE.fullmatch(cell.strip()):
        year, day, month = (int(x) for x in cell.strip().split("-"))
    else:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def blank_row(ligne: int) -> Problem:
    return Problem(
        ligne, None, "Ligne vide", "aucune cellule remplie", "supprimez cette ligne", ERREUR
    )


def duplicate_row(ligne: int, first: int) -> Problem:
    return Problem(
        ligne,
        None,
        "Ligne en double",
        f"identique à la ligne {first}",
        f"supprimez cette ligne si la subvention de la ligne {first} a été saisie deux fois",
        AVERTISSEMENT,
    )


def type_error(ligne: int, colonne: str | None, f: dict, cell: str) -> Problem:
    example = f.get("example", "")
    if f["type"] in ("number", "integer"):
        titre, fixed = "Format de nombre incorrect", suggest_number(cell)
        if fixed and "," in cell:
            correction = "le séparateur décimal à utiliser est le point"
        elif fixed:
            correction = "écrivez le nombre sans espace ni symbole"
        else:
            correction = f"écrivez un nombre, le point comme séparateur décimal (ex. {example})"
    elif f["type"] == "date":
        fixed = suggest_date(cell)
        if ISO_DATE.fullmatch(cell.strip()):
            titre, correction = "Date inexistante", "ce jour n'existe pas : corrigez la date"
            fixed = f"{fixed} ?" if fixed else None
        else:
            titre, correction = "Format de date incorrect", "la date s'écrit AAAA-MM-JJ"
    elif f["type"] == "boolean":
        trues, falses = f.get("trueValues", ["true"]), f.get("falseValues", ["false"])
        titre, fixed = "Valeur booléenne incorrecte", _suggest_boolean(cell, trues, falses)
        correction = f"seules les valeurs {' ou '.join(trues + falses)} sont autorisées"
    else:
        titre, fixed = "Type de valeur incorrect", None
        correction = f"la valeur doit être de type {f['type']} (ex. {example})"
    if fixed:
        correction += f" (écrire {fixed}, pas {cell})"
    return Problem(ligne, colonne, titre, f"valeur « {cell} »", correction, ERREUR)


def constraint_error(
    ligne: int, colonne: str | None, f: dict, cell: str, constraint: str
) -> Problem:
    rules = f.get("constraints", {})
    limit = rules.get(constraint)
    example = f.get("example", "")
    if constraint == "required":
        titre = "Cellule vide"
        correction = f"renseignez cette cellule obligatoire : {f.get('title', colonne)}"
        correction += f" (ex. {example})" if example else ""
    elif constraint == "pattern":
        titre, fixed = "Format incorrect", _suggest_pattern(cell, limit)
        correction = f"la valeur doit ressembler à « {example} » (motif {limit})"
        correction += f" : écrire {fixed}" if fixed else ""
    elif constraint == "enum":
        titre, fixed = "Valeur non autorisée", _suggest_enum(cell, limit)
        allowed = ", ".join(f"« {value} »" for value in limit)
        correction = (f"écrire « {fixed} » ; " if fixed else "") + f"valeurs autorisées : {allowed}"
    elif constraint in ("maxLength", "minLength"):
        titre = "Texte trop long" if constraint == "maxLength" else "Texte trop court"
        bound = "au plus" if constraint == "maxLength" else "au moins"
        correction = f"{bound} {limit} caractères (la cellule en compte {len(cell)})"
    elif constraint in ("minimum", "maximum"):
        titre, correction = "Valeur hors limites", _bounds(rules, cell)
    else:
        titre, correction = "Valeur non conforme", f"contrainte du schéma : {constraint} {limit}"
    return Problem(ligne, colonne, titre, f"valeur « {cell} »", correction, ERREUR)


def _bounds(rules: dict, cell: str) -> str:
    low, high = rules.get("minimum"), rules.get("maximum")
    if low is not None and high is not None:
        text = f"la valeur doit être comprise entre {low} et {high}"
    else:
        text = (
            f"la valeur doit être au moins {low}"
            if high is None
            else (f"la valeur doit être au plus {high}")
        )
    try:
        value = Decimal(cell)
    except InvalidOperation:
        return text
    if high == 1 and 1 < value <= 100:  # a percentage typed as 80 instead of 0.8
        text += f" : un pourcentage s'écrit en décimal (écrire {(value / 100).normalize()}, "
        text += f"pas {cell})"
    return text


def _suggest_boolean(cell: str, trues: list[str], falses: list[str]) -> str | None:
    key = cell.strip().casefold()
    if key in {"yes", "y", "true", "vrai", "1", "o", "oui"}:
        return trues[0]
    if key in {"no", "n", "false", "faux", "0", "non"}:
        return falses[0]
    return None


def _suggest_pattern(cell: str, pattern: str) -> str | None:
    dates = re.sub(r"(\d{4}-\d{2}-\d{2})\s*[^\d/]+\s*(\d{4}-\d{2}-\d{2})", r"\1/\2", cell)
    for guess in (dates, re.sub(r"\s", "", cell), cell.strip().upper()):
        if guess != cell and re.fullmatch(pattern, guess):
            return guess
    return None


def _suggest_enum(cell: str, allowed: list[str]) -> str | None:
    def key(text: str) -> str:
        return re.sub(r"\s*[,;/+]\s*", ";", text.strip().casefold())

    return next((value for value in allowed if key(value) == key(cell)), None)


def siret(ligne: int, colonne: str, value: str) -> Problem:
    digits = re.sub(r"[\s\u00a0\u202f]|\.0$", "", value)
    if not digits.isdigit():
        hint = "un Siret ne contient que des chiffres"
    elif len(digits) == 9:
        hint = f"{digits} a 9 chiffres : c'est un SIREN, ajoutez les 5 chiffres de l'établissement"
    elif len(digits) != 14:
        hint = f"un Siret compte 14 chiffres, {digits} en a {len(digits)}"
    elif not stdnum_siret.is_valid(digits):
        hint = f"la clé de contrôle de {digits} est fausse (chiffre mal recopié ?)"
    else:
        hint = "le numéro est bon une fois nettoyé"
    if digits != value and digits.isdigit():
        hint = f"retirez espaces et « .0 » ajoutés par le tableur ({digits}) ; {hint}"
    return Problem(
        ligne,
        colonne,
        "La valeur n'est pas conforme au format Siret",
        f"valeur « {value} » (14 chiffres dont une clé de contrôle)",
        f"{hint} ; {ANNUAIRE}",
        ERREUR,
    )


def one_of_required(ligne: int, first: str, second: str, fields: dict[str, dict]) -> Problem:
    titles = [fields.get(name, {}).get("title", name) for name in (first, second)]
    return Problem(
        ligne,
        first,
        f"Au moins l'une des colonnes {first} ou {second} doit comporter une valeur",
        "les deux cellules sont vides",
        f"renseignez {first} ({titles[0]}) ou {second} ({titles[1]})",
        ERREUR,
    )


def loose_date(ligne: int, colonne: str, value: str) -> Problem:
    parts = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
    iso = dt.date(*map(int, parts.groups())).isoformat() if parts else None
    return Problem(
        ligne,
        colonne,
        "Format de date incomplet",
        f"valeur « {value} »",
        "la date s'écrit AAAA-MM-JJ, sur 10 caractères"
        + (f" (écrire {iso}, pas {value})" if iso else ""),
        DATE,
    )


def period(ligne: int, colonne: str, value: str) -> list[Problem]:
    found, dates = [], []
    for part in value.split("/"):
        try:
            dates.append(dt.date.fromisoformat(part))
        except ValueError:
            guess = suggest_date(part)
            found.append(
                Problem(
                    ligne,
                    colonne,
                    "Date inexistante",
                    f"« {part} » dans « {value} »",
                    f"la date {part} n'existe pas : corrigez-la (AAAA-MM-JJ)"
                    + (f", peut-être {guess} ?" if guess else ""),
                    DATE,
                )
            )
    if len(dates) == 2 and dates[1] < dates[0]:
        start, end = (d.isoformat() for d in dates)
        found.append(
            Problem(
                ligne,
                colonne,
                "Période de versement inversée",
                f"la fin ({end}) précède le début ({start})",
                f"la période s'écrit début/fin : écrire {end}/{start} si les dates sont "
                "interverties, sinon corrigez-les",
                DATE,
            )
        )
    return found
