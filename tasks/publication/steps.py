"""The Prefect tasks of the publication. The API key is looked up inside each task and
never passed as a parameter: task parameters are stored and shown by Prefect."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from prefect import get_run_logger
from prefect.runtime import task_run

from tasks.core.errors import ConfigurationError
from tasks.core.progress import progress
from tasks.core.settings import Settings
from tasks.core.sql import quote_ident, read_sql
from tasks.core.steps import step
from tasks.core.warehouse import connect
from tasks.publication import data_catalogue, reconcile
from tasks.publication.catalog import Catalog, Environment, Fiche, Perimetre, record_dataset_id
from tasks.publication.datagouv import DataGouvClient
from tasks.publication.prepare import Request, dataset_key, perimeter_rows, prepare, schema_of
from tasks.publication.reconcile import BLOCKED, CREATE, INCOMPLETE, NO_DATA, WAITING, DatasetPlan
from tasks.publication.secrets import api_key
from tasks.quality.gate import Outcome, blocked_marts
from tasks.sources.registry import Registry
from tasks.transform import models


@step("verifier-cle-api")
def check_api_key(environment: Environment, dry_run: bool) -> bool:
    """Whether a key is available; a real publication without one stops here."""
    present = api_key(environment) is not None
    if not present and not dry_run:
        raise ConfigurationError(
            f"aucune clé d'API pour {environment.nom}",
            where=f"variable DATAGOUV_API_KEY_{environment.name.upper()} ou bloc Prefect "
            f"Secret « {environment.secret_block} »",
            action="définissez la clé (jamais dans le dépôt), ou lancez en simulation "
            "(--dry-run) pour obtenir le plan",
        )
    return present


@dataclass(frozen=True)
class PublicationRun:
    """What every dataset of one publication shares: where, against which checks, how."""

    catalog: Catalog
    environment: Environment
    registry: Registry
    settings: Settings
    outcomes: list[Outcome]
    dry_run: bool
    force: bool = False
    today: dt.date = field(default_factory=dt.date.today)
    loaded: set[str] = field(default_factory=set)  # the sources the warehouse has loaded

    @property
    def folder(self) -> Path:
        return self.settings.outputs_dir / "publication" / self.environment.name

    @functools.cached_property
    def conn(self) -> duckdb.DuckDBPyConnection:
        """One connection to the warehouse for every dataset of the run (closed by
        `close`): the flow holds the warehouse's lock meanwhile."""
        conn = connect(self.settings.warehouse)
        conn.execute(read_sql("schema.sql"))
        return conn

    def close(self) -> None:
        if "conn" in self.__dict__:
            self.__dict__.pop("conn").close()

    @functools.cached_property
    def blocked(self) -> dict[str, str]:
        """The marts blocked by these checks, and why (once per run, not per dataset)."""
        return blocked_marts(self.outcomes, models.discover())


def publication_progress(run: PublicationRun, datasets: int):
    """The progress of a publication of `datasets` datasets (catalogues included)."""
    what = "Simulation de publication" if run.dry_run else "Publication"
    return progress(
        f"{what} sur {run.environment.nom}",
        datasets,
        unit="jeux",
        key=f"progression-publication-{run.environment.name}",
    )


def resolve_perimeters(warehouse: Path, catalog: Catalog) -> tuple[Catalog, list[str]]:
    """The catalogue with every perimeter named as in the COG of the run (unless the
    configuration names it), and the perimeters whose communes all lie in the run's
    territory (ref.execution): the MEL and Sailly-lez-Lannoy for the MEL, Sailly-lez-Lannoy
    alone for Sailly-lez-Lannoy. A perimeter the COG does not know is refused."""
    names, inside, unknown = {}, [], []
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        for code, perimetre in catalog.perimetres.items():
            name = "nom_commune" if perimetre.kind == "commune" else "nom_epci"
            [(every, nom)] = conn.execute(
                f"select bool_and(dans_territoire), any_value({name}) "
                "from intermediate.int_communes where type_commune = 'commune-actuelle' "
                f"and {quote_ident(perimetre.colonne)} = ?",
                [perimetre.valeur],
            ).fetchall()
            if nom is None:
                unknown.append(f"{code} ({perimetre.colonne} {perimetre.valeur})")
            names[code] = nom
            if every:
                inside.append(code)
    if unknown:
        raise ConfigurationError(
            f"périmètre(s) inconnu(s) du COG de l'entrepôt : {', '.join(unknown)}",
            where="catalog/publication.yaml, perimetres",
            action="vérifiez le code INSEE de la commune ou le SIREN de l'EPCI (COG de la "
            "dernière exécution, ref.execution)",
        )
    return catalog.named(names), inside


def organisation_groups(catalog: Catalog, perimetres: list[str], env: str) -> list[list[str]]:
    """The perimeters, grouped by the organisation that publishes them (in the order of
    catalog/publication.yaml); a perimeter without an organisation is a group of its own."""
    groups: dict[str, list[str]] = {}
    for code in (c for c in catalog.perimetres if c in perimetres):
        organisation = catalog.perimetres[code].organisation(env)
        groups.setdefault(organisation or f"périmètre:{code}", []).append(code)
    return list(groups.values())


def _publish_name() -> str:
    """`publier-communes-mel` in the Prefect UI."""
    parameters = task_run.parameters
    return f"publier-{parameters['fiche'].name}-{parameters['perimetre_code']}"


@step("publier-jeu", run_name=_publish_name)
def publish_dataset(run: PublicationRun, fiche: Fiche, perimetre_code: str) -> DatasetPlan:
    """Prepare one dataset of one perimeter from the warehouse, then bring data.gouv.fr to
    it (or, without a key or in a dry run, say what would be sent)."""
    perimetre = run.catalog.perimetres[perimetre_code]
    missing = fiche.missing_sources(run.loaded)
    if missing:
        reason = (
            f"source(s) jamais chargée(s) : {', '.join(missing)} ; sans elle(s) le jeu serait "
            "partiel (colonnes vides) : il sera publié au premier rafraîchissement qui la charge"
        )
        return _plan(run, fiche, perimetre, WAITING, reason=reason)
    reason = _blocking_reason(fiche, run)
    if reason:
        return _plan(run, fiche, perimetre, BLOCKED, reason=reason)
    rows = perimeter_rows(run.conn, fiche, perimetre)
    if not rows.limit(1).fetchall():
        return _plan(run, fiche, perimetre, NO_DATA)
    return _publish(run, run.conn, fiche, perimetre, rows)


def _catalogue_name() -> str:
    return f"publier-catalogue-{task_run.parameters['perimetre_code']}"


@step("publier-catalogue", run_name=_catalogue_name)
def publish_catalogue(
    run: PublicationRun, perimetre_code: str, members: list[str], plans: list[DatasetPlan]
) -> DatasetPlan:
    """The SCDL catalogue of the organisation of `perimetre_code` (and of `members`, the
    perimeters it also publishes for): every dataset it has published, read on the
    platform; `plans` are this run's, newer than what the warehouse recorded."""
    fiche = run.catalog.catalogue()
    perimetre = run.catalog.perimetres[perimetre_code]
    if not perimetre.siret:
        return _plan(
            run,
            fiche,
            perimetre,
            INCOMPLETE,
            reason=f"SIRET de {perimetre.nom_collectivite} inconnu : ajoutez `siret:` à "
            f"l'entrée {perimetre_code} de catalog/publication.yaml (le catalogue SCDL "
            "l'exige) ; les autres jeux sont publiés",
        )
    keys = [
        dataset_key(f, code) for code in [perimetre_code, *members] for f in run.catalog.marts()
    ]
    conn = run.conn
    entries = data_catalogue.stored_entries(conn, run.environment.name, keys)
    entries.update({p.key: p.entree for p in plans if p.entree})
    if not entries:
        pending = [p for p in plans if p.action == CREATE]
        if not pending:
            return _plan(run, fiche, perimetre, NO_DATA)
        reason = (
            f"écrit une fois ses {len(pending)} jeu(x) publiés : leurs identifiants et "
            "adresses sur data.gouv.fr ne sont connus qu'alors"
        )
        return _plan(run, fiche, perimetre, CREATE, reason=reason)
    table = data_catalogue.frame(fiche, perimetre, schema_of(fiche), list(entries.values()))
    return _publish(run, conn, fiche, perimetre, conn.from_df(table))


def _publish(
    run: PublicationRun,
    conn: duckdb.DuckDBPyConnection,
    fiche: Fiche,
    perimetre: Perimetre,
    rows: duckdb.DuckDBPyRelation,
) -> DatasetPlan:
    env = run.environment.name
    key = dataset_key(fiche, perimetre.code)
    secret = api_key(run.environment)
    organisation = perimetre.organisation(env)
    if secret and not run.dry_run and not organisation:
        raise _no_organisation(perimetre.code, run.environment)
    request = Request(
        fiche,
        perimetre,
        organisation,
        run.registry,
        run.folder,
        run.today,
        tuple(run.outcomes),
        run.catalog.colonnes,
    )
    records = reconcile.load_records(conn, env, key)
    previous_rows = reconcile.load_snapshot(conn, env, key)
    prepared = prepare(conn, request, records, previous_rows, rows)
    known_id = fiche.dataset_id(perimetre.code, env) or next(
        (r.dataset_id for r in records.values()), None
    )
    if secret is None:
        plan = reconcile.plan_from_records(prepared, known_id, records)
        return _located(
            plan, perimetre, organisation, data_catalogue.stored_entries(conn, env, [key]).get(key)
        )
    client = _client(run, secret)
    plan, remote = reconcile.reconcile(client, prepared, known_id, records, run.dry_run, run.force)
    if remote is None:
        return _located(plan, perimetre, organisation, None)
    if plan.action == CREATE and not run.dry_run:
        # Created with our files only: no need to read it back for the catalogue.
        uploaded = [{"format": r.filename.rsplit(".", 1)[-1].lower()} for r in prepared.resources]
        remote = {**remote, "resources": uploaded}
    elif plan.touched and not run.dry_run:
        remote = client.dataset(remote["id"]) or remote  # its resources, as they are now
    entree = None if fiche.is_catalogue else data_catalogue.entry(prepared, remote, _site(run))
    if run.dry_run:
        return _located(plan, perimetre, organisation, entree)
    reconcile.save_state(conn, env, prepared, remote["id"])
    if entree:
        data_catalogue.save_entry(conn, env, key, entree)
    if remote["id"] != known_id:
        _record_id(fiche, perimetre.code, env, remote["id"])
    return _located(plan, perimetre, organisation, entree)


def _plan(
    run: PublicationRun, fiche: Fiche, perimetre: Perimetre, action: str, reason: str | None = None
) -> DatasetPlan:
    """A dataset that is not prepared: blocked, without rows for the perimeter…"""
    title = fiche.titre.replace("{perimetre}", perimetre.nom or perimetre.code)
    plan = DatasetPlan(dataset_key(fiche, perimetre.code), title, action, reason=reason)
    return _located(plan, perimetre, perimetre.organisation(run.environment.name), None)


def _located(
    plan: DatasetPlan, perimetre: Perimetre, organisation: str | None, entree: dict | None
) -> DatasetPlan:
    plan.perimetre, plan.organisation, plan.entree = perimetre.code, organisation, entree
    return plan


# One client per platform and key for the whole run: a pause asked by the platform
# (HTTP 429, Retry-After) holds back every dataset's requests, not only the one refused.
_CLIENTS: dict[tuple, DataGouvClient] = {}


def _client(run: PublicationRun, secret: str) -> DataGouvClient:
    policy = run.settings.http_policy
    slot = (
        run.environment.api,
        hashlib.sha256(secret.encode()).hexdigest(),
        policy,
        run.environment.debit,
    )
    if slot not in _CLIENTS:
        _CLIENTS[slot] = DataGouvClient(
            run.environment.api,
            secret,
            policy=policy,
            rate=run.environment.debit,
        )
    return _CLIENTS[slot]


def _site(run: PublicationRun) -> str:
    return run.environment.api.rstrip("/").removesuffix("/api/1")


def _no_organisation(perimetre_code: str, environment: Environment) -> ConfigurationError:
    return ConfigurationError(
        f"aucune organisation déclarée pour le périmètre {perimetre_code} sur {environment.nom}",
        where=f"catalog/publication.yaml, perimetres.{perimetre_code}.organisations."
        f"{environment.name}",
        action="indiquez l'identifiant de l'organisation qui publie (page de l'organisation "
        "sur data.gouv.fr) : sans elle, le jeu serait rattaché au compte de la clé",
    )


def _record_id(fiche: Fiche, perimetre: str, env: str, dataset_id: str) -> None:
    # The warehouse already knows the id (meta.publications): a read-only catalogue
    # (a container image) only costs the operator a line to copy into the fiche.
    try:
        record_dataset_id(fiche, perimetre, env, dataset_id)
    except OSError as error:
        get_run_logger().warning(
            "Jeu %s créé (identifiant %s) mais la fiche %s n'a pas pu être mise à jour (%s) : "
            "reportez l'identifiant dans son bloc datagouv.%s.%s",
            dataset_key(fiche, perimetre),
            dataset_id,
            fiche.path,
            error,
            perimetre,
            env,
        )


def _blocking_reason(fiche: Fiche, run: PublicationRun) -> str | None:
    """Why a dataset may not be published: its suite failed or did not run at all, or
    it is built from a mart that is blocked."""
    own = [o for o in run.outcomes if o.mart == fiche.suite]
    if not own:
        return f"aucun contrôle de la suite « {fiche.suite} » : rien n'est publié sans contrôle"
    failed = [o for o in own if o.severity == "critical" and not o.success]
    if failed:
        return "attente(s) critique(s) en échec : " + " ; ".join(o.describe() for o in failed[:3])
    if fiche.mart in run.blocked:
        return f"mart {fiche.mart} bloqué : {run.blocked[fiche.mart]}"
    return None


def plan_folder(settings: Settings) -> Path:
    return settings.outputs_dir / "publication"
