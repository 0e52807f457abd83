"""The Prefect tasks of the publication. The API key is looked up inside each task and
never passed as a parameter: task parameters are stored and shown by Prefect."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from prefect import get_run_logger
from prefect.runtime import task_run

from tasks.core.errors import ConfigurationError
from tasks.core.settings import Settings
from tasks.core.sql import quote_ident, read_sql
from tasks.core.steps import step
from tasks.core.warehouse import connect
from tasks.publication import reconcile
from tasks.publication.catalog import Catalog, Environment, Fiche, record_dataset_id
from tasks.publication.datagouv import DataGouvClient
from tasks.publication.prepare import Request, dataset_key, prepare
from tasks.publication.reconcile import BLOCKED, DatasetPlan
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

    @property
    def folder(self) -> Path:
        return self.settings.outputs_dir / "publication" / self.environment.name


def perimeters_in_territory(warehouse: Path, catalog: Catalog) -> list[str]:
    """The perimeters whose communes all lie in the run's territory (ref.execution): the
    MEL and Sailly-lez-Lannoy for the MEL, Sailly-lez-Lannoy alone for Sailly-lez-Lannoy."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        inside = []
        for code, perimetre in catalog.perimetres.items():
            [(every,)] = conn.execute(
                "select bool_and(dans_territoire) from intermediate.int_communes "
                f"where type_commune = 'commune-actuelle' and {quote_ident(perimetre.colonne)} = ?",
                [perimetre.valeur],
            ).fetchall()
            if every:
                inside.append(code)
    return inside


def _publish_name() -> str:
    """`publier-communes-mel` in the Prefect UI."""
    parameters = task_run.parameters
    return f"publier-{parameters['fiche'].name}-{parameters['perimetre_code']}"


@step("publier-jeu", run_name=_publish_name)
def publish_dataset(run: PublicationRun, fiche: Fiche, perimetre_code: str) -> DatasetPlan:
    """Prepare one dataset of one perimeter from the warehouse, then bring data.gouv.fr to
    it (or, without a key or in a dry run, say what would be sent)."""
    perimetre = run.catalog.perimetres[perimetre_code]
    key = dataset_key(fiche, perimetre_code)
    reason = _blocking_reason(fiche, run.outcomes)
    if reason:
        title = fiche.titre.replace("{perimetre}", perimetre.nom)
        return DatasetPlan(key, title, BLOCKED, reason=reason)
    secret = api_key(run.environment)
    organisation = run.environment.organisations.get(perimetre_code)
    if secret and not run.dry_run and not organisation:
        raise _no_organisation(perimetre_code, run.environment)
    request = Request(fiche, perimetre, organisation, run.registry, run.folder, run.today)
    with connect(run.settings.warehouse) as conn:
        conn.execute(read_sql("schema.sql"))
        records = reconcile.load_records(conn, run.environment.name, key)
        previous_rows = reconcile.load_snapshot(conn, run.environment.name, key)
        prepared = prepare(conn, request, records, previous_rows)
        known_id = fiche.dataset_id(perimetre_code, run.environment.name) or next(
            (r.dataset_id for r in records.values()), None
        )
        if secret is None:
            return reconcile.plan_from_records(prepared, known_id, records)
        client = DataGouvClient(run.environment.api, secret, policy=run.settings.http_policy)
        plan, remote = reconcile.reconcile(
            client, prepared, known_id, records, run.dry_run, run.force
        )
        if run.dry_run or remote is None:
            return plan
        reconcile.save_state(conn, run.environment.name, prepared, remote["id"])
        if remote["id"] != known_id:
            _record_id(fiche, perimetre_code, run.environment.name, remote["id"])
        return plan


def _no_organisation(perimetre_code: str, environment: Environment) -> ConfigurationError:
    return ConfigurationError(
        f"aucune organisation déclarée pour le périmètre {perimetre_code} sur {environment.nom}",
        where=f"catalog/publication.yaml, environnements.{environment.name}.organisations",
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


def _blocking_reason(fiche: Fiche, outcomes: list[Outcome]) -> str | None:
    """Why a dataset may not be published: its suite failed or did not run at all, or
    it is built from a mart that is blocked."""
    own = [o for o in outcomes if o.mart == fiche.suite]
    if not own:
        return f"aucun contrôle de la suite « {fiche.suite} » : rien n'est publié sans contrôle"
    failed = [o for o in own if o.severity == "critical" and not o.success]
    if failed:
        return "attente(s) critique(s) en échec : " + " ; ".join(o.describe() for o in failed[:3])
    blocked = blocked_marts(outcomes, models.discover())
    if fiche.mart in blocked:
        return f"mart {fiche.mart} bloqué : {blocked[fiche.mart]}"
    return None


def plan_folder(settings: Settings) -> Path:
    return settings.outputs_dir / "publication"
