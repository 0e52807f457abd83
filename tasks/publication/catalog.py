"""The publication catalogue: one fiche per published dataset, and where to publish."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tasks.core.errors import ConfigurationError
from tasks.core.settings import PROJECT_ROOT

ENVIRONMENTS = ("demo", "prod")
_IDS_BLOCK = "datagouv:"
_TAG = re.compile(r"^[a-z0-9][a-z0-9-]{2,95}$")


def catalog_dir() -> Path:
    return Path(os.environ.get("OPENDATA_CATALOG") or PROJECT_ROOT / "catalog")


@dataclass(frozen=True)
class Environment:
    name: str
    nom: str
    api: str
    secret_block: str
    organisations: dict[str, str | None]


@dataclass(frozen=True)
class Perimetre:
    code: str
    nom: str
    colonne: str
    valeur: object
    zones: list[str]


@dataclass(frozen=True)
class Fiche:
    name: str
    path: Path
    mart: str
    suite: str
    cle: list[str]
    sources: list[str]
    perimetres: list[str]
    titre: str
    description: str
    mots_cles: list[str]
    licence: str
    frequence: str
    granularite: str
    couverture_temporelle: str
    colonnes: dict[str, str]
    datagouv: dict[str, dict[str, str | None]] = field(default_factory=dict)
    # The standard the data file follows, when there is one, e.g.
    # {name: scdl/subventions, version: 2.1.1}: set on the resource on data.gouv.fr.
    schema: dict[str, str] | None = None
    # Mart columns the publication reads (the périmètre filter, the file name, the
    # years covered) without writing them into the data file.
    colonnes_internes: list[str] = field(default_factory=list)
    # The data file's name when a standard fixes it, e.g. the SCDL's
    # "{date}_{siren_attribuant}_{nom_fichier}.csv": {date} is the day of publication
    # (AAAAMMJJ), other names are columns with a single value in the périmètre.
    nom_fichier: str | None = None

    def dataset_id(self, perimetre: str, env: str) -> str | None:
        return (self.datagouv.get(perimetre) or {}).get(env)


@dataclass(frozen=True)
class Catalog:
    environments: dict[str, Environment]
    perimetres: dict[str, Perimetre]
    fiches: list[Fiche]

    def environment(self, name: str) -> Environment:
        if name not in self.environments:
            raise ConfigurationError(
                f"environnement de publication inconnu : {name}",
                where=str(catalog_dir() / "publication.yaml"),
                action=f"choisissez parmi : {', '.join(self.environments)}",
            )
        return self.environments[name]

    def published_keys(self) -> dict[str, list[str]]:
        """The key each published mart is published under: the quality gate checks it."""
        return {fiche.mart: fiche.cle for fiche in self.fiches}


def _perimetre(code: str, entry: dict) -> Perimetre:
    """An EPCI (`epci: <SIREN>`) or a commune (`commune: <code INSEE>`): its rows are those
    of its communes in the marts, its zone that of data.gouv.fr."""
    kind = "epci" if "epci" in entry else "commune"
    value = str(entry[kind])
    return Perimetre(
        code=code,
        nom=entry["nom"],
        colonne=f"code_{kind}",
        valeur=value,
        zones=list(entry.get("zones") or [f"fr:{kind}:{value}"]),
    )


def load_catalog(folder: Path | None = None) -> Catalog:
    folder = folder or catalog_dir()
    config_path = folder / "publication.yaml"
    config = _read(config_path)
    try:
        environments = {
            name: Environment(name=name, **entry)
            for name, entry in config["environnements"].items()
        }
        perimetres = {
            str(code): _perimetre(str(code), entry) for code, entry in config["perimetres"].items()
        }
    except (KeyError, TypeError) as error:
        raise ConfigurationError(
            f"configuration de publication incomplète ({error})",
            where=str(config_path),
            action="comparez avec le modèle commenté du fichier",
        ) from error
    fiches = [_fiche(path) for path in sorted((folder / "fiches").glob("*.yaml"))]
    for fiche in fiches:
        _check_fiche(fiche)
        unknown = [p for p in fiche.perimetres if p not in perimetres]
        if unknown:
            raise ConfigurationError(
                f"la fiche {fiche.name} publie pour un périmètre inconnu : {', '.join(unknown)}",
                where=str(fiche.path),
                action=f"déclarez-le dans {config_path} ou corrigez `perimetres`",
            )
    return Catalog(environments, perimetres, fiches)


def record_dataset_id(fiche: Fiche, perimetre: str, env: str, dataset_id: str) -> None:
    """Write a newly created dataset id into the fiche's `datagouv` block, for the operator
    to commit. Only that last, machine-kept block is rewritten: comments above it stay."""
    text = fiche.path.read_text(encoding="utf-8")
    head, _, _ = text.partition("\n" + _IDS_BLOCK)
    ids = {p: dict(fiche.datagouv.get(p) or {}) for p in fiche.perimetres}
    current = (yaml.safe_load(text) or {}).get("datagouv") or {}
    for code, envs in current.items():
        ids.setdefault(str(code), {}).update(envs or {})
    ids.setdefault(perimetre, {})[env] = dataset_id
    for envs in ids.values():
        for name in ENVIRONMENTS:
            envs.setdefault(name, None)
    block = yaml.safe_dump({"datagouv": ids}, allow_unicode=True, sort_keys=False)
    fiche.path.write_text(head.rstrip("\n") + "\n" + block, encoding="utf-8")


def _check_fiche(fiche: Fiche) -> None:
    problems = []
    if not (PROJECT_ROOT / "expectations" / f"{fiche.suite}.json").exists():
        problems.append(f"la suite « {fiche.suite} » n'existe pas dans expectations/")
    # data.gouv.fr slugifies tags: anything else would be changed on every publication.
    bad_tags = [tag for tag in fiche.mots_cles if not _TAG.match(tag)]
    if bad_tags:
        problems.append(
            f"mots-clés à écrire en minuscules sans accent ni espace, 3 à 96 caractères : "
            f"{', '.join(bad_tags)}"
        )
    if problems:
        raise ConfigurationError(
            " ; ".join(problems), where=str(fiche.path), action="corrigez la fiche"
        )


def _fiche(path: Path) -> Fiche:
    document = _read(path)
    try:
        document["datagouv"] = {
            str(code): dict(envs or {}) for code, envs in (document.get("datagouv") or {}).items()
        }
        document["perimetres"] = [str(code) for code in document["perimetres"]]
        return Fiche(name=path.stem, path=path, **document)
    except TypeError as error:
        raise ConfigurationError(
            f"fiche incomplète ou avec un champ inconnu ({error})",
            where=str(path),
            action="comparez avec catalog/fiches/comparateur.yaml",
        ) from error


def _read(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(
            f"fichier illisible ({error.__class__.__name__} : {error})",
            where=str(path),
            action="corrigez le YAML",
        ) from error
