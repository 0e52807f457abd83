"""Publish only what changed: plan, then reconcile each dataset with data.gouv.fr.

Every step can be re-run: a dataset is found by its id or by its `extras` key before
one is created, a resource by its key, its recorded id, or its file name and sha1
before one is uploaded; an unchanged file (same sha1 as the remote checksum) is
never sent again, and metadata are sent only when they differ.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field

import duckdb

from tasks.publication import changelog
from tasks.publication.datagouv import DataGouvClient, PublicationError, TransientPublicationError
from tasks.publication.prepare import (
    DATA,
    KEY_EXTRA,
    RESOURCE_EXTRA,
    Prepared,
    Record,
    Resource,
    archive_title,
    fingerprint,
)

log = logging.getLogger(__name__)

CREATE, UPDATE, UNCHANGED, BLOCKED = "créer", "mettre à jour les métadonnées", "inchangé", "bloqué"
UPLOAD, REPLACE, METADATA = "téléverser", "remplacer le fichier", "mettre à jour la description"
ARCHIVE_REPLACE = "conserver l'ancienne version, puis remplacer le fichier"
NO_DATA = "sans données"
INCOMPLETE = "non publié (configuration à compléter)"
WAITING = "en attente d'une source"
ARCHIVE_OF = "opendata-mel:archive-de"  # on a kept version: the key of the resource it was
_RETRIES = 3


@dataclass
class ResourcePlan:
    key: str
    filename: str
    action: str
    changes: str | None = None


@dataclass
class DatasetPlan:
    key: str
    title: str
    action: str
    dataset_id: str | None = None
    reason: str | None = None
    resources: list[ResourcePlan] = field(default_factory=list)
    perimetre: str | None = None
    organisation: str | None = None
    # Its line in the organisation's SCDL catalogue, once it is published (else None).
    entree: dict | None = None

    @property
    def touched(self) -> bool:
        return self.action not in {UNCHANGED, BLOCKED, NO_DATA, INCOMPLETE, WAITING} or any(
            r.action != UNCHANGED for r in self.resources
        )

    @property
    def archives(self) -> int:
        return sum(r.action == ARCHIVE_REPLACE for r in self.resources)


# Planning without a key: against what this warehouse last published --------------------
def plan_from_records(
    prepared: Prepared, known_id: str | None, records: dict[str, Record]
) -> DatasetPlan:
    dataset_id = known_id or next((r.dataset_id for r in records.values()), None)
    wanted = fingerprint(prepared.metadata)
    if dataset_id is None:
        action = CREATE
    elif any(r.dataset_fingerprint != wanted for r in records.values()):
        action = UPDATE
    else:
        action = UNCHANGED
    plan = DatasetPlan(prepared.key, prepared.metadata["title"], action, dataset_id)
    for resource in prepared.resources:
        record = records.get(resource.key)
        if record is None:
            action = UPLOAD
        elif record.sha1 != resource.sha1:
            action = ARCHIVE_REPLACE if resource.revises else REPLACE
        elif record.resource_fingerprint != fingerprint(resource.metadata):
            action = METADATA
        else:
            action = UNCHANGED
        plan.resources.append(_resource_plan(resource, action))
    return plan


# Reconciling with the platform -----------------------------------------------------------
def reconcile(
    client: DataGouvClient,
    prepared: Prepared,
    known_id: str | None,
    records: dict[str, Record],
    dry_run: bool,
    force: bool = False,
) -> tuple[DatasetPlan, dict | None]:
    """Bring the remote dataset to the prepared state (or only say how, in a dry run)."""
    plan = DatasetPlan(prepared.key, prepared.metadata["title"], UNCHANGED)
    remote = _find_dataset(client, prepared, known_id)
    if remote is None:
        plan.action = CREATE
        if dry_run:
            plan.resources = [_resource_plan(r, UPLOAD) for r in prepared.resources]
            return plan, None
        remote = _check_licence(_create(client, prepared), prepared)
    plan.dataset_id = remote["id"]
    # Files first: the dataset's description (rows, millésimes) never runs ahead of them.
    for resource in prepared.resources:
        recorded = records.get(resource.key)
        plan.resources.append(
            _reconcile_resource(client, remote, resource, recorded, dry_run, force)
        )
    if plan.action != CREATE and (force or _dataset_differs(remote, prepared.metadata)):
        plan.action = UPDATE
        if not dry_run:
            merged = _merged(client.dataset(remote["id"]) or remote, prepared.metadata)
            remote = _check_licence(client.update_dataset(remote["id"], merged), prepared)
    return plan, remote


def _check_licence(remote: dict, prepared: Prepared) -> dict:
    # udata silently turns an unknown licence into "notspecified".
    if remote.get("license") != prepared.metadata["license"]:
        raise PublicationError(
            f"licence « {prepared.metadata['license']} » inconnue de la plateforme "
            f"(enregistrée comme « {remote.get('license')} »)",
            where=str(prepared.fiche.path),
            action="utilisez un identifiant de licence de data.gouv.fr (lov2 pour la Licence "
            "Ouverte 2.0) puis relancez",
        )
    return remote


def _find_dataset(client: DataGouvClient, prepared: Prepared, known_id: str | None) -> dict | None:
    if known_id:
        found = client.dataset(known_id)
        if found is not None:
            return found
    if not prepared.organisation:
        return None
    for candidate in client.organization_datasets(prepared.organisation):
        if candidate.get("deleted") or candidate.get("archived"):
            continue
        if (candidate.get("extras") or {}).get(KEY_EXTRA) == prepared.key:
            found = client.dataset(candidate["id"])
            if found is not None:
                return found
    return None


def _create(client: DataGouvClient, prepared: Prepared) -> dict:
    for attempt in range(1, _RETRIES + 1):
        try:
            return client.create_dataset(prepared.metadata)
        except TransientPublicationError as error:
            # The POST may have succeeded before the error: look (after a pause, the
            # platform may still be writing) before creating again.
            _pause(client, error, attempt)
            found = _find_dataset(client, prepared, None)
            if found is not None:
                return found
            if attempt == _RETRIES:
                raise
    raise AssertionError("unreachable")


def _reconcile_resource(
    client: DataGouvClient,
    remote: dict,
    resource: Resource,
    recorded: Record | None,
    dry_run: bool,
    force: bool = False,
) -> ResourcePlan:
    current = _find_resource(remote, resource.key, resource.filename, recorded)
    if current is not None:
        resource.metadata["id"] = current["id"]
    published_sha1 = ((current or {}).get("checksum") or {}).get("value")
    same_file = current is not None and published_sha1 == resource.sha1
    history = "" if current is None else _continue_journal(remote, current, resource, recorded)
    if current is None:
        action = UPLOAD
    elif not same_file:
        action = ARCHIVE_REPLACE if resource.key == DATA and resource.revises else REPLACE
    elif _resource_differs(current, resource.metadata):
        action = METADATA
    elif force:
        action = REPLACE
    else:
        return _resource_plan(resource, UNCHANGED)
    if dry_run:
        return _resource_plan(resource, action)
    if action == UPLOAD:
        current = _upload(client, remote["id"], resource.key, resource.filename, resource.content)
    elif action in (REPLACE, ARCHIVE_REPLACE):
        if action == ARCHIVE_REPLACE:
            _keep_version(client, remote, current, resource, history)
        current = client.replace_file(
            remote["id"], current["id"], resource.filename, resource.content
        )
    extras = {**(current.get("extras") or {}), **resource.metadata["extras"]}
    client.update_resource(
        remote["id"], current["id"], {**current, **resource.metadata, "extras": extras}
    )
    resource.metadata["id"] = current["id"]
    return _resource_plan(resource, action)


def _continue_journal(
    remote: dict, current: dict, resource: Resource, recorded: Record | None
) -> str:
    """The published description holds the changelog: continue it, with an entry only
    when the file really changes (not when this warehouse was rebuilt). Returns the
    published journal."""
    published_sha1 = (current.get("checksum") or {}).get("value")
    history = changelog.journal_of(current.get("description") or "")
    if published_sha1 == resource.sha1 and _undescribed(recorded, published_sha1, history):
        # Its entry names the version kept before the replace, if one was.
        kept = _find_resource(remote, f"version-{recorded.sha1}", None, None)
        resource.revises = resource.revises and kept is not None
    elif published_sha1 == resource.sha1:
        resource.entry, resource.changes, resource.revises = None, None, False
    elif resource.key == DATA and not (recorded and recorded.sha1 == published_sha1):
        # Published by someone else, or not what this warehouse remembers: keep it.
        resource.revises = True
    resource.metadata["description"] = resource.describe(history)
    return history


def _undescribed(recorded: Record | None, published_sha1: str | None, history: str) -> bool:
    """The published file is ours but its description is still the previous one: a run
    replaced the file, then was stopped (killed, cut off) before describing it. This
    warehouse recorded an older file, and the journal it sent with it is still the one
    published: the entry of the change is still to be written."""
    return recorded is not None and recorded.sha1 != published_sha1 and recorded.journal == history


def _upload(client: DataGouvClient, dataset_id: str, key: str, filename: str, content: bytes):
    for attempt in range(1, _RETRIES + 1):
        try:
            return client.upload_new(dataset_id, filename, content)
        except TransientPublicationError as error:
            # The file may have arrived before the error: adopt it rather than upload twice.
            _pause(client, error, attempt)
            found = _find_resource(client.dataset(dataset_id) or {}, key, filename, None)
            if found is not None:
                return found
            if attempt == _RETRIES:
                raise
    raise AssertionError("unreachable")


def _keep_version(
    client: DataGouvClient, remote: dict, current: dict, resource: Resource, history: str
) -> None:
    """Keep the published file as a resource of its own before it is replaced: udata
    deletes a replaced file. Its key holds its sha1, so it is kept once, however often the
    publication is run again (or resumed after a failure between the two steps)."""
    sha1 = (current.get("checksum") or {}).get("value") or ""
    key = f"version-{sha1}"
    if _find_resource(remote, key, None, None) is not None:
        return
    dates = changelog.dates(history)
    stem, _, suffix = resource.filename.rpartition(".")
    filename = f"{stem}-version-{dates[0] if dates else 'precedente'}.{suffix}"
    # A run killed after uploading the copy, before describing it, left it without a key:
    # its title is still its file name, its checksum that of the published file. Adopted,
    # not uploaded a second time.
    kept = _find_resource(remote, key, filename, None)
    if kept is None or (kept.get("checksum") or {}).get("value") != sha1:
        content = _published_file(client, remote, current, resource.filename)
        kept = _upload(client, remote["id"], key, filename, content)
    client.update_resource(
        remote["id"],
        kept["id"],
        {
            **kept,
            "title": archive_title(history),
            "description": (
                f"Fichier de données tel qu'il était publié avant le {resource.when}, conservé "
                "tel quel : la version suivante modifie ou retire des lignes déjà publiées "
                "(voir le journal des modifications du fichier de données)."
            ),
            "type": "other",
            "extras": {**(kept.get("extras") or {}), RESOURCE_EXTRA: key, ARCHIVE_OF: resource.key},
        },
    )


def _published_file(client: DataGouvClient, remote: dict, current: dict, filename: str) -> bytes:
    """The bytes of the published file, checked against its checksum."""
    sha1 = (current.get("checksum") or {}).get("value") or ""
    content = client.download(current["url"])
    if hashlib.sha1(content).hexdigest() != sha1:
        raise PublicationError(
            f"le fichier publié de {filename} ne correspond pas à son empreinte "
            f"({sha1 or 'aucune'}) : il n'est pas remplacé, pour ne rien perdre",
            where=current.get("url") or remote["id"],
            action="téléchargez-le et gardez-en une copie, puis relancez la publication",
        )
    return content


def _pause(client: DataGouvClient, error: TransientPublicationError, attempt: int) -> None:
    """Wait before looking again, as long as the platform asked (never beyond the maximum:
    a longer request stops the publication, to be resumed later)."""
    if error.wait is not None and error.wait > client.policy.max_wait:
        raise error
    time.sleep(client.policy.pause(attempt, error.wait))


def _find_resource(
    remote: dict, key: str, filename: str | None, recorded: Record | None
) -> dict | None:
    resources = remote.get("resources") or []
    by_key = [r for r in resources if (r.get("extras") or {}).get(RESOURCE_EXTRA) == key]
    if by_key:
        return by_key[0]
    if recorded:
        by_id = [r for r in resources if r["id"] == recorded.resource_id]
        if by_id:
            return by_id[0]
    # A file uploaded just before a failure: no key yet, its title is still the file name.
    return next(
        (
            r
            for r in resources
            if filename
            and r.get("title") == filename
            and RESOURCE_EXTRA not in (r.get("extras") or {})
        ),
        None,
    )


def _dataset_differs(remote: dict, wanted: dict) -> bool:
    return _comparable_dataset(remote, wanted) != _comparable_dataset(wanted, wanted)


def _comparable_dataset(document: dict, wanted: dict) -> dict:
    organization = document.get("organization")
    if isinstance(organization, dict):
        organization = organization.get("id")
    spatial = document.get("spatial") or {}
    return {
        "title": document.get("title"),
        "description": (document.get("description") or "").strip(),
        "license": document.get("license"),
        "frequency": document.get("frequency"),
        "tags": sorted(document.get("tags") or []),
        "zones": sorted(spatial.get("zones") or []),
        "granularity": spatial.get("granularity"),
        "temporal_coverage": document.get("temporal_coverage") or None,
        "extras": {k: (document.get("extras") or {}).get(k) for k in wanted["extras"]},
        "organization": organization if "organization" in wanted else None,
    }


def _merged(remote: dict, wanted: dict) -> dict:
    """The complete dataset with our fields changed: a partial PUT would wipe the others."""
    merged = {key: value for key, value in remote.items() if key != "resources"}
    merged.update({k: v for k, v in wanted.items() if k not in {"extras", "organization"}})
    merged["extras"] = {**(remote.get("extras") or {}), **wanted["extras"]}
    if "organization" in wanted:
        merged["organization"] = wanted["organization"]
    elif isinstance(remote.get("organization"), dict):
        merged["organization"] = remote["organization"]["id"]
    return merged


def _resource_differs(remote: dict, wanted: dict) -> bool:
    fields = ("title", "description", "type")
    if any((remote.get(f) or "") != (wanted.get(f) or "") for f in fields):
        return True
    extras = remote.get("extras") or {}
    if any(extras.get(k) != v for k, v in wanted["extras"].items()):
        return True
    schema = remote.get("schema") or {}
    return "schema" in wanted and any(schema.get(k) != v for k, v in wanted["schema"].items())


def _resource_plan(resource: Resource, action: str) -> ResourcePlan:
    changes = resource.changes.summary() if resource.changes and action != UNCHANGED else None
    return ResourcePlan(resource.key, resource.filename, action, changes)


# Publication state in the warehouse --------------------------------------------------
def load_records(conn: duckdb.DuckDBPyConnection, env: str, key: str) -> dict[str, Record]:
    rows = conn.execute(
        "select ressource, dataset_id, resource_id, sha1, journal, empreinte_jeu, "
        "empreinte_ressource from meta.publications where environnement = ? and jeu = ?",
        [env, key],
    ).fetchall()
    return {row[0]: Record(*row[1:]) for row in rows}


def load_snapshot(conn: duckdb.DuckDBPyConnection, env: str, key: str) -> dict[str, dict] | None:
    rows = conn.execute(
        "select cle, ligne from meta.instantanes where environnement = ? and jeu = ?", [env, key]
    ).fetchall()
    if not rows and not load_records(conn, env, key):
        return None
    return {cle: json.loads(ligne) for cle, ligne in rows}


def save_state(
    conn: duckdb.DuckDBPyConnection, env: str, prepared: Prepared, dataset_id: str
) -> None:
    """Record what is now published, in one transaction."""
    conn.execute("begin")
    try:
        conn.execute(
            "delete from meta.publications where environnement = ? and jeu = ?", [env, prepared.key]
        )
        for resource in prepared.resources:
            conn.execute(
                "insert into meta.publications by name select ? as environnement, ? as jeu, "
                "? as ressource, ? as dataset_id, ? as resource_id, ? as sha1, ? as journal, "
                "now() as publie_le, ? as empreinte_jeu, ? as empreinte_ressource",
                [
                    env,
                    prepared.key,
                    resource.key,
                    dataset_id,
                    resource.metadata["id"],
                    resource.sha1,
                    _journal_of(resource),
                    fingerprint(prepared.metadata),
                    fingerprint(resource.metadata),
                ],
            )
        conn.execute(
            "delete from meta.instantanes where environnement = ? and jeu = ?", [env, prepared.key]
        )
        conn.executemany(
            "insert into meta.instantanes values (?, ?, ?, ?)",
            [
                [env, prepared.key, key, json.dumps(row, ensure_ascii=False)]
                for key, row in prepared.snapshot.items()
            ],
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise


def _journal_of(resource: Resource) -> str:
    return changelog.journal_of(resource.metadata.get("description") or "")
