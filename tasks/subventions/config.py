"""What the documents do not say: the attribuant of each commune, the SCDL defaults, and
where the schema and the Recherche d'entreprises API are (catalog/subventions.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from tasks.core.errors import ConfigurationError
from tasks.publication.catalog import catalog_dir

DEFAULT_FIELDS = (
    "objet",
    "nature",
    "conditionsVersement",
    "datesPeriodeVersement",
    "notificationUE",
    "pourcentageSubvention",
    "dispositifAide",
    "idRAE",
)
_SIREN = re.compile(r"^\d{9}$")
_SIRET = re.compile(r"^\d{14}$")


@dataclass(frozen=True)
class CommuneSubventions:
    code_commune: str
    nom_attribuant: str
    siren: str
    siret: str | None  # None: the SIRET of the siège of `siren`, from the API
    defauts: dict[str, str]

    def default(self, field: str, annee: int, date_convention: str) -> str:
        return self.defauts[field].format(annee=annee, dateConvention=date_convention)


@dataclass(frozen=True)
class SubventionsConfig:
    path: Path
    schema_name: str
    schema_version: str
    schema_path: Path
    api_url: str
    api_rate: float
    communes: dict[str, CommuneSubventions]

    def commune(self, code: str) -> CommuneSubventions:
        if code not in self.communes:
            raise ConfigurationError(
                f"la commune {code} n'a pas d'entrée pour ses subventions",
                where=f"{self.path}, bloc `communes`",
                action="ajoutez son nom d'attribuant et son SIREN (modèle : l'entrée 59522), "
                f"ou choisissez parmi : {', '.join(sorted(self.communes))}",
            )
        return self.communes[code]


def load_config(folder: Path | None = None) -> SubventionsConfig:
    folder = folder or catalog_dir()
    path = folder / "subventions.yaml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        defaults = {name: str(document["defauts"][name]) for name in DEFAULT_FIELDS}
        config = SubventionsConfig(
            path=path,
            schema_name=document["schema"]["name"],
            schema_version=str(document["schema"]["version"]),
            schema_path=folder / document["schema"]["fichier"],
            api_url=document["recherche_entreprises"]["url"],
            api_rate=float(document["recherche_entreprises"]["requetes_par_seconde"]),
            communes={
                str(code): _commune(str(code), entry or {}, defaults, path)
                for code, entry in (document.get("communes") or {}).items()
            },
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise ConfigurationError(
            f"configuration des subventions illisible ou incomplète "
            f"({error.__class__.__name__} : {error})",
            where=str(path),
            action="comparez avec le modèle commenté du fichier",
        ) from error
    if not config.schema_path.is_file():
        raise ConfigurationError(
            f"schéma introuvable : {config.schema_path}",
            where=f"{path}, schema.fichier",
            action="remettez la copie du schéma officiel (catalog/schemas/README.md)",
        )
    return config


def _commune(code: str, entry: dict, defaults: dict[str, str], path: Path) -> CommuneSubventions:
    unknown = sorted(set(entry.get("defauts") or {}) - set(DEFAULT_FIELDS))
    siren, siret = str(entry["siren"]), entry.get("idAttribuant")
    problems = []
    if unknown:
        problems.append(f"champ(s) par défaut inconnu(s) : {', '.join(unknown)}")
    if not _SIREN.match(siren):
        problems.append(f"SIREN {siren!r} : 9 chiffres attendus")
    if siret is not None and not (_SIRET.match(str(siret)) and str(siret).startswith(siren)):
        problems.append(f"idAttribuant {siret!r} : 14 chiffres commençant par le SIREN attendus")
    if problems:
        raise ConfigurationError(
            f"commune {code} : {' ; '.join(problems)}",
            where=f"{path}, communes.{code}",
            action=f"champs par défaut admis : {', '.join(DEFAULT_FIELDS)}",
        )
    return CommuneSubventions(
        code_commune=code,
        nom_attribuant=str(entry["nomAttribuant"]),
        siren=siren,
        siret=str(siret) if siret is not None else None,
        defauts={**defaults, **{k: str(v) for k, v in (entry.get("defauts") or {}).items()}},
    )
