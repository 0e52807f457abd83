"""The publication catalogue: one fiche per published dataset, and where to publish."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tasks.core.errors import ConfigurationError
from tasks.core.settings import PROJECT_ROOT
from tasks.publication import files

ENVIRONMENTS = ("demo", "prod")
_IDS_BLOCK = "datagouv:"
_TAG = re.compile(r"^[a-z0-9][a-z0-9-]{2,95}$")


def catalog_dir() -> Path:
    return Path(os.environ.get("OPENDATA_CATALOG") or PROJECT_ROOT / "catalog")


KINDS = ("epci", "commune")
CATALOGUE = "catalogue"  # the `genre` of the fiche of the organisation's data catalogue


@dataclass(frozen=True)
class Environment:
    name: str
    nom: str
    api: str
    secret_block: str
    # At most this many requests per second to the platform (none: as fast as it answers;
    # a 429 and its Retry-After are always honoured, by every dataset of the run).
    debit: float | None = None


@dataclass(frozen=True)
class Perimetre:
    """Where a dataset is published for: an EPCI or a commune, its organisation on each
    platform, and who it is in the SCDL catalogue (`collectivite`, `siret`)."""

    code: str
    nom: str | None  # None: the name of the COG of the run, read from the warehouse
    kind: str  # epci | commune
    valeur: str  # its SIREN or code INSEE
    zones: list[str]
    organisations: dict[str, str | None] = field(default_factory=dict)
    siret: str | None = None
    collectivite: str | None = None

    @property
    def colonne(self) -> str:
        return f"code_{self.kind}"

    def organisation(self, env: str) -> str | None:
        return self.organisations.get(env)

    @property
    def nom_collectivite(self) -> str:
        """« Commune de Sailly-lez-Lannoy », « Métropole Européenne de Lille »."""
        if self.collectivite:
            return self.collectivite
        return f"Commune de {self.nom}" if self.kind == "commune" else str(self.nom)


@dataclass(frozen=True)
class Fiche:
    name: str
    path: Path
    mart: str | None
    suite: str | None
    cle: list[str]
    sources: list[str]
    publie_pour: list[str]  # the kinds of perimeters it is published for: epci, commune
    titre: str
    theme: str  # THEME in the SCDL catalogue
    description: str
    mots_cles: list[str]
    licence: str
    frequence: str
    granularite: str
    couverture_temporelle: str | None
    # Descriptions of the columns this fiche alone knows; the others come from
    # catalog/colonnes.yaml, then from the registry's variables (ref.variables).
    colonnes: dict[str, str] = field(default_factory=dict)
    # The sources without which the dataset would be partial (e.g. the census base-cc file
    # of the population): until they are loaded once, it waits, and the plan says why.
    sources_requises: list[str] = field(default_factory=list)
    genre: str = "mart"  # or "catalogue": the organisation's SCDL data catalogue
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

    def missing_sources(self, loaded: set[str]) -> list[str]:
        """The required sources the warehouse has never loaded."""
        return [source for source in self.sources_requises if source not in loaded]

    def publishes_for(self, perimetre: Perimetre) -> bool:
        return perimetre.kind in self.publie_pour

    @property
    def is_catalogue(self) -> bool:
        return self.genre == CATALOGUE


@dataclass(frozen=True)
class Catalog:
    environments: dict[str, Environment]
    perimetres: dict[str, Perimetre]
    fiches: list[Fiche]
    # Descriptions of the columns shared by several marts (catalog/colonnes.yaml).
    colonnes: dict[str, str] = field(default_factory=dict)

    def environment(self, name: str) -> Environment:
        if name not in self.environments:
            raise ConfigurationError(
                f"environnement de publication inconnu : {name}",
                where=str(catalog_dir() / "publication.yaml"),
                action=f"choisissez parmi : {', '.join(self.environments)}",
            )
        return self.environments[name]

    def published_keys(self, loaded: set[str] | None = None) -> dict[str, list[str]]:
        """The key each published mart is published under: the quality gate checks it,
        and that none of its columns is empty. With `loaded` (the sources the warehouse
        has loaded), only the marts ready to publish (their required sources loaded)."""
        return {
            fiche.mart: fiche.cle
            for fiche in self.marts()
            if loaded is None or not fiche.missing_sources(loaded)
        }

    def marts(self) -> list[Fiche]:
        """The fiches of marts, without the organisations' catalogue."""
        return [fiche for fiche in self.fiches if not fiche.is_catalogue]

    def catalogue(self) -> Fiche | None:
        return next((fiche for fiche in self.fiches if fiche.is_catalogue), None)

    def named(self, perimetres: dict[str, str]) -> Catalog:
        """The catalogue with the names the configuration leaves out taken from the COG
        of the run (`perimetres`: code → name)."""
        named = {
            code: p if p.nom else dataclasses.replace(p, nom=perimetres.get(code) or code)
            for code, p in self.perimetres.items()
        }
        return dataclasses.replace(self, perimetres=named)


def _perimetre(code: str, entry: dict, path: Path) -> Perimetre:
    """An EPCI (`epci: <SIREN>`) or a commune (`commune: <code INSEE>`): its rows are those
    of its communes in the marts, its zone that of data.gouv.fr."""
    entry = dict(entry or {})
    kinds = [kind for kind in KINDS if kind in entry]
    unknown = sorted(
        set(entry) - {*KINDS, "nom", "zones", "organisations", "siret", "collectivite"}
    )
    siret = str(entry["siret"]) if entry.get("siret") else None
    problem = None
    if len(kinds) != 1:
        problem = "indiquez soit `epci: <SIREN>`, soit `commune: <code INSEE>`"
    elif unknown:
        problem = f"champ(s) inconnu(s) : {', '.join(unknown)}"
    elif siret is not None and not re.fullmatch(r"\d{14}", siret):
        problem = f"SIRET « {siret} » : 14 chiffres attendus"
    if problem:
        raise ConfigurationError(
            f"périmètre {code} mal décrit : {problem}",
            where=f"{path}, perimetres.{code}",
            action="comparez avec l'entrée de Sailly-lez-Lannoy (59522)",
        )
    kind = kinds[0]
    value = str(entry[kind])
    organisations = {
        str(k): (str(v) if v else None) for k, v in (entry.get("organisations") or {}).items()
    }
    return Perimetre(
        code=code,
        nom=entry.get("nom"),
        kind=kind,
        valeur=value,
        zones=list(entry.get("zones") or [f"fr:{kind}:{value}"]),
        organisations=organisations,
        siret=siret,
        collectivite=entry.get("collectivite"),
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
            str(code): _perimetre(str(code), entry, config_path)
            for code, entry in config["perimetres"].items()
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
    if sum(fiche.is_catalogue for fiche in fiches) > 1:
        raise ConfigurationError(
            "plusieurs fiches de catalogue (genre: catalogue)",
            where=str(folder / "fiches"),
            action="gardez-en une seule",
        )
    shared = _read(folder / "colonnes.yaml") if (folder / "colonnes.yaml").exists() else {}
    return Catalog(environments, perimetres, fiches, {str(k): str(v) for k, v in shared.items()})


def record_dataset_id(fiche: Fiche, perimetre: str, env: str, dataset_id: str) -> None:
    """Write a newly created dataset id into the fiche's `datagouv` block, for the operator
    to commit. Only that last, machine-kept block is rewritten: comments above it stay."""
    text = fiche.path.read_text(encoding="utf-8")
    head, _, _ = text.partition("\n" + _IDS_BLOCK)
    ids = {p: dict(envs or {}) for p, envs in fiche.datagouv.items()}
    current = (yaml.safe_load(text) or {}).get("datagouv") or {}
    for code, envs in current.items():
        ids.setdefault(str(code), {}).update(envs or {})
    ids.setdefault(perimetre, {})[env] = dataset_id
    for envs in ids.values():
        for name in ENVIRONMENTS:
            envs.setdefault(name, None)
    block = yaml.safe_dump({"datagouv": ids}, allow_unicode=True, sort_keys=False)
    # Replaced whole: a run killed here leaves the fiche as it was, never half of it.
    files.write_text(fiche.path, head.rstrip("\n") + "\n" + block, durable=True)


def _check_fiche(fiche: Fiche) -> None:
    problems = []
    if fiche.genre not in {"mart", CATALOGUE}:
        problems.append(f"genre « {fiche.genre} » inconnu (mart ou catalogue)")
    bad_kinds = [kind for kind in fiche.publie_pour if kind not in KINDS]
    if bad_kinds or not fiche.publie_pour:
        problems.append(f"`publie_pour` attend une liste parmi : {', '.join(KINDS)}")
    suite = PROJECT_ROOT / "expectations" / f"{fiche.suite}.json"
    if not fiche.is_catalogue and not suite.exists():
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
        document["publie_pour"] = [str(kind) for kind in document.get("publie_pour") or []]
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
