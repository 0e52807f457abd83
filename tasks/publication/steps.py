"""The Prefect tasks of the publication. The API key is looked up inside each task and
never passed as a parameter: task parameters are stored and shown by Prefect."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.core.errors import ConfigurationError
from tasks.core.settings import Settings
from tasks.publication import prepare as publication
from tasks.publication import reconcile as publish
from tasks.publication.catalog import Catalog, Environment, Fiche, record_dataset_id
from tasks.publication.datagouv import DataGouvClient
from tasks.publication.secrets import api_key
from tasks.quality import gate as quality
from tasks.sources.registry import Registry
from tasks.transform import models
from tasks.transform.warehouse import connect

_TASK = {"cache_policy": NO_CACHE}


@task(name="verifier-cle-api", **_TASK)
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


@task(name="publier-jeu", **_TASK)
def publish_dataset(
    fiche: Fiche,
    perimetre_code: str,
    catalog: Catalog,
    environment: Environment,
    registry: Registry,
    settings: Settings,
    outcomes: list[quality.Outcome],
    dry_run: bool,
    force: bool = False,
) -> publish.DatasetPlan:
    perimetre = catalog.perimetres[perimetre_code]
    key = publication.dataset_key(fiche, perimetre_code)
    reason = _blocking_reason(fiche, outcomes)
    if reason:
        title = fiche.titre.replace("{perimetre}", perimetre.nom)
        return publish.DatasetPlan(key, title, publish.BLOCKED, reason=reason)
    known_id = fiche.dataset_id(perimetre_code, environment.name)
    secret = api_key(environment)
    organisation = environment.organisations.get(perimetre_code)
    if secret and not dry_run and not organisation:
        raise ConfigurationError(
            f"aucune organisation déclarée pour le périmètre {perimetre_code} "
            f"sur {environment.nom}",
            where=f"catalog/publication.yaml, environnements.{environment.name}.organisations",
            action="indiquez l'identifiant de l'organisation qui publie (page de l'organisation "
            "sur data.gouv.fr) : sans elle, le jeu serait rattaché au compte de la clé",
        )
    folder = settings.outputs_dir / "publication" / environment.name
    with connect(settings.warehouse) as conn:
        conn.execute(_schema())
        records = publish.load_records(conn, environment.name, key)
        known_id = known_id or next((r.dataset_id for r in records.values()), None)
        prepared = publication.prepare(
            conn,
            fiche,
            perimetre,
            organisation,
            registry,
            records,
            publish.load_snapshot(conn, environment.name, key),
            folder,
            dt.date.today(),
        )
        if secret is None:
            return publish.plan_from_records(prepared, known_id, records)
        client = DataGouvClient(
            environment.api, secret, attempts=settings.http_attempts, backoff=settings.http_backoff
        )
        plan, remote = publish.reconcile(client, prepared, known_id, records, dry_run, force)
        if dry_run or remote is None:
            return plan
        publish.save_state(conn, environment.name, prepared, remote["id"])
        if remote["id"] != known_id:
            _record_id(fiche, perimetre_code, environment.name, remote["id"])
        return plan


def _record_id(fiche: Fiche, perimetre: str, env: str, dataset_id: str) -> None:
    # The warehouse already knows the id (meta.publications): a read-only catalogue
    # (a container image) only costs the operator a line to copy into the fiche.
    try:
        record_dataset_id(fiche, perimetre, env, dataset_id)
    except OSError as error:
        get_run_logger().warning(
            "Jeu %s créé (identifiant %s) mais la fiche %s n'a pas pu être mise à jour (%s) : "
            "reportez l'identifiant dans son bloc datagouv.%s.%s",
            publication.dataset_key(fiche, perimetre),
            dataset_id,
            fiche.path,
            error,
            perimetre,
            env,
        )


def _blocking_reason(fiche: Fiche, outcomes: list[quality.Outcome]) -> str | None:
    """Why a dataset may not be published: its suite failed or did not run at all, or
    it is built from a mart that is blocked."""
    own = [o for o in outcomes if o.mart == fiche.suite]
    if not own:
        return f"aucun contrôle de la suite « {fiche.suite} » : rien n'est publié sans contrôle"
    failed = [o for o in own if o.severity == "critical" and not o.success]
    if failed:
        return "attente(s) critique(s) en échec : " + " ; ".join(o.describe() for o in failed[:3])
    blocked = quality.blocked_marts(outcomes, models.discover())
    if fiche.mart in blocked:
        return f"mart {fiche.mart} bloqué : {blocked[fiche.mart]}"
    return None


def _schema() -> str:
    from tasks.core.sql import read_sql

    return read_sql("schema.sql")


def plan_folder(settings: Settings) -> Path:
    return settings.outputs_dir / "publication"
