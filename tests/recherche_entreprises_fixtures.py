"""FICTITIOUS answers of the API Recherche d'entreprises, in the mirror layout.

The associations below do not exist: their SIREN start with 999 and were computed
to have a valid Luhn key, their RNA are W5999990xx. What is real: the commune
(Sailly-lez-Lannoy, INSEE 59522, postcode 59390, SIREN 215905225) and the shape of
the answers (open-api.yml of the API: results, total_results, page, per_page,
total_pages; `minimal=true&include=complements,siege`). The commune's head-office
SIRET is fictitious too (21590522500011, valid key).

Regenerate the committed files after a change of the tables:

    uv run python -m tests.recherche_entreprises_fixtures
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from stdnum import luhn

from tasks.sources.mirror import mirror_relative_path
from tasks.subventions.entreprises import PER_PAGE, search_url, siren_url

BASE_URL = "https://recherche-entreprises.api.gouv.fr/search"
FOLDER = Path(__file__).resolve().parent / "fixtures" / "recherche-entreprises"
CODE_COMMUNE = "59522"
COMMUNE_SIREN = "215905225"
COMMUNE_SIRET = "21590522500011"

# key: (number, nom_raison_sociale, sigle, year of creation)
ASSOCIATIONS = {
    "grs": (1, "GYMNASTIQUE RYTHMIQUE ET SPORTIVE DE SAILLY", "GRS", 1987),
    "coop": (2, "COOPERATIVE SCOLAIRE DE L'ECOLE MATERNELLE", None, 1975),
    "comite": (3, "COMITE DES FETES", None, 1966),
    "comite_gare": (4, "COMITE DES FETES DU QUARTIER DE LA GARE", None, 2004),
    "amicale": (5, "AMICALE LAIQUE DE SAILLY LEZ LANNOY", None, 1958),
    "us": (6, "UNION SPORTIVE SAILLY FOOTBALL", "USSF", 1972),
    "aines": (7, "CLUB DES AINES", None, 1981),
    "ape": (8, "ASSOCIATION DES PARENTS D'ELEVES DE L'ECOLE SAINT JOSEPH", "APE", 1990),
    "unc": (9, "ANCIENS COMBATTANTS UNC", "UNC", 1950),
    "unc_bis": (10, "ANCIENS COMBATTANTS - UNC", None, 2011),
}

# The text of `q` (a spelling of the documents) → the associations answered.
ANSWERS = {
    "G.R.S": ["grs"],
    "GRS": ["grs"],
    "Coop. école maternelle": ["coop"],
    "Coopérative école maternelle": ["coop"],
    "Coopérative de l'école maternelle": ["coop"],
    "Comité des fêtes": ["comite", "comite_gare"],
    "Comite des Fetes": ["comite", "comite_gare"],
    "Amicale laïque de Sailly-lez-Lannoy": ["amicale"],
    "Amicale laïque": ["amicale"],
    "U.S. Sailly football": ["us"],
    "US Sailly Football": ["us"],
    "Club des aînés": ["aines"],
    "APE de l'école Saint-Joseph": ["ape"],
    "Anciens combattants UNC": ["unc", "unc_bis"],
    "Harmonie municipale": [],
}


def siren(number: int) -> str:
    return luhn_complete(f"999{number:05d}")


def luhn_complete(digits: str) -> str:
    return digits + luhn.calc_check_digit(digits)


def siege(siret: str, created: int, activite: str = "94.99Z") -> dict:
    return {
        "activite_principale": activite,
        "adresse": "ADRESSE FICTIVE 59390 SAILLY-LEZ-LANNOY",
        "code_postal": "59390",
        "commune": CODE_COMMUNE,
        "date_creation": f"{created}-01-01",
        "departement": "59",
        "epci": "200093201",
        "est_siege": True,
        "etat_administratif": "A",
        "libelle_commune": "SAILLY-LEZ-LANNOY",
        "region": "32",
        "siret": siret,
    }


def association(key: str) -> dict:
    number, name, sigle, created = ASSOCIATIONS[key]
    unit = siren(number)
    return {
        "siren": unit,
        "nom_complet": f"{name} ({sigle})" if sigle else name,
        "nom_raison_sociale": name,
        "sigle": sigle,
        "activite_principale": "94.99Z",
        "categorie_entreprise": None,
        "date_creation": f"{created}-01-01",
        "etat_administratif": "A",
        "nature_juridique": "9220",
        "nombre_etablissements": 1,
        "nombre_etablissements_ouverts": 1,
        "section_activite_principale": "S",
        "statut_diffusion": "O",
        "tranche_effectif_salarie": None,
        "siege": siege(luhn_complete(unit + "0001"), created),
        "complements": {
            "est_association": True,
            "est_ess": True,
            "identifiant_association": f"W5999990{number:02d}",
            "collectivite_territoriale": None,
        },
    }


def commune() -> dict:
    return {
        "siren": COMMUNE_SIREN,
        "nom_complet": "COMMUNE DE SAILLY LEZ LANNOY",
        "nom_raison_sociale": "COMMUNE DE SAILLY LEZ LANNOY",
        "sigle": None,
        "activite_principale": "84.11Z",
        "date_creation": "1983-03-01",
        "etat_administratif": "A",
        "nature_juridique": "7210",
        "nombre_etablissements": 1,
        "nombre_etablissements_ouverts": 1,
        "section_activite_principale": "O",
        "statut_diffusion": "O",
        "siege": siege(COMMUNE_SIRET, 1983, "84.11Z"),
        "complements": {
            "collectivite_territoriale": {
                "code": CODE_COMMUNE,
                "code_insee": CODE_COMMUNE,
                "niveau": "commune",
            },
            "est_association": False,
            "identifiant_association": None,
        },
    }


def payload(results: list[dict], per_page: int) -> dict:
    return {
        "results": results,
        "total_results": len(results),
        "page": 1,
        "per_page": per_page,
        "total_pages": math.ceil(len(results) / per_page),
    }


def recorded_answers() -> dict[str, dict]:
    """Mirror-relative path → JSON answer."""
    answers = {
        mirror_relative_path(search_url(BASE_URL, q, CODE_COMMUNE)): payload(
            [association(key) for key in keys], PER_PAGE
        )
        for q, keys in ANSWERS.items()
    }
    answers[mirror_relative_path(siren_url(BASE_URL, COMMUNE_SIREN))] = payload([commune()], 10)
    return answers


def write_recorded_answers(root: Path = FOLDER) -> None:
    host = root / "recherche-entreprises.api.gouv.fr"
    shutil.rmtree(host, ignore_errors=True)
    for relative, answer in recorded_answers().items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(answer, ensure_ascii=False, indent=2) + "\n"
        target.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write_recorded_answers()
