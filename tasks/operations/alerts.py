"""The failure alert as code: a Prefect automation and its webhook block, kept in step with
catalog/alertes.yaml and the environment, idempotently.

The webhook's address is a secret (OPENDATA_WEBHOOK_URL): it goes into the block's secret
fields only, and no message of this module ever shows it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from tasks.core.errors import ConfigurationError

ALERTS_FILE = Path(__file__).resolve().parents[2] / "catalog" / "alertes.yaml"
URL_VARIABLE = "OPENDATA_WEBHOOK_URL"
KIND_VARIABLE = "OPENDATA_WEBHOOK_TYPE"
KINDS = ("slack", "teams", "generique")


@dataclass(frozen=True)
class AlertSpec:
    """catalog/alertes.yaml: what to watch and what to say."""

    name: str
    description: str
    tag: str
    states: tuple[str, ...]
    block: str
    subject: str
    body: str

    @classmethod
    def load(cls, path: Path = ALERTS_FILE) -> AlertSpec:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        try:
            return cls(
                name=data["nom"],
                description=data["description"],
                tag=data["etiquette"],
                states=tuple(data["etats"]),
                block=data["bloc"],
                subject=data["sujet"],
                body=data["message"],
            )
        except (KeyError, TypeError) as error:
            raise ConfigurationError(
                f"clé manquante dans la définition de l'alerte : {error}",
                where=str(path),
                action="complétez le fichier (nom, description, etiquette, etats, bloc, "
                "sujet, message)",
            ) from error


@dataclass(frozen=True)
class Webhook:
    url: str
    kind: str

    def __repr__(self) -> str:  # never the address, even in a traceback
        return f"Webhook(kind={self.kind!r})"


def webhook_from_env(env: dict[str, str] | None = None) -> Webhook | None:
    """The configured webhook, or None when OPENDATA_WEBHOOK_URL is empty."""
    env = os.environ if env is None else env
    url = env.get(URL_VARIABLE, "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            "l'adresse du webhook n'est pas une URL http(s)",
            where=f"variable {URL_VARIABLE} (valeur non affichée : c'est un secret)",
            action="copiez l'URL complète du webhook entrant (https://…), puis relancez",
        )
    kind = env.get(KIND_VARIABLE, "").strip().lower() or _kind_of(parts.hostname)
    if kind not in KINDS:
        raise ConfigurationError(
            f"type de webhook inconnu : {kind}",
            where=f"variable {KIND_VARIABLE}",
            action=f"choisissez parmi {', '.join(KINDS)}, ou videz la variable (type déduit "
            "de l'adresse)",
        )
    return Webhook(url, kind)


def _kind_of(hostname: str) -> str:
    if hostname == "hooks.slack.com":
        return "slack"
    if hostname.endswith((".webhook.office.com", ".logic.azure.com")):
        return "teams"
    return "generique"


def notification_block(webhook: Webhook, spec: AlertSpec):
    """The Prefect notification block of this webhook, the address in a secret field."""
    from prefect.blocks.notifications import (
        CustomWebhookNotificationBlock,
        MicrosoftTeamsWebhook,
        SlackWebhook,
    )

    try:
        if webhook.kind == "slack":
            return SlackWebhook(url=webhook.url)
        if webhook.kind == "teams":
            return MicrosoftTeamsWebhook(url=webhook.url)
    except ValueError:  # pydantic's message would quote the address
        raise ConfigurationError(
            f"l'adresse ne ressemble pas à un webhook {webhook.kind}",
            where=f"variable {URL_VARIABLE} (valeur non affichée : c'est un secret)",
            action=f"vérifiez l'URL, ou choisissez {KIND_VARIABLE}=generique",
        ) from None
    # Slack-compatible JSON ("text"), which Mattermost and most chat tools accept, plus
    # the subject and message apart for a generic receiver.
    return CustomWebhookNotificationBlock(
        name=spec.name,
        url="{{adresse}}",
        json_data={
            "text": "{{subject}}\n\n{{body}}",
            "sujet": "{{subject}}",
            "message": "{{body}}",
        },
        secrets={"adresse": webhook.url},
    )


def automation(spec: AlertSpec, block_id):
    """The automation: one notification per flow run of the project that ends badly."""
    from prefect.automations import AutomationCore, EventTrigger, Posture, SendNotification

    return AutomationCore(
        name=spec.name,
        description=spec.description,
        enabled=True,
        trigger=EventTrigger(
            expect={f"prefect.flow-run.{state}" for state in spec.states},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={
                "prefect.resource.role": "tag",
                "prefect.resource.id": f"prefect.tag.{spec.tag}",
            },
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            SendNotification(block_document_id=block_id, subject=spec.subject, body=spec.body)
        ],
    )


def configure(spec: AlertSpec, webhook: Webhook | None) -> str:
    """Bring the server's alert in step with the spec and the webhook; say what was done."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(spec.name)
        if webhook is None:
            for found in existing:
                client.delete_automation(found.id)
            removed = " (l'ancienne alerte a été retirée)" if existing else ""
            return (
                f"Aucune alerte d'échec : {URL_VARIABLE} n'est pas défini{removed}. Pour être "
                f"prévenu, définissez {URL_VARIABLE} (webhook Slack, Mattermost, Teams ou "
                "générique) puis relancez make ui."
            )
        block_id = notification_block(webhook, spec).save(spec.block, overwrite=True)
        wanted = automation(spec, block_id)
        for duplicate in existing[1:]:
            client.delete_automation(duplicate.id)
        if existing:
            client.update_automation(existing[0].id, wanted)
            verb = "mise à jour"
        else:
            client.create_automation(wanted)
            verb = "créée"
    states = " ou ".join(spec.states)
    return (
        f"Alerte d'échec « {spec.name} » {verb} : webhook {webhook.kind} (bloc "
        f"« {spec.block} »), à chaque exécution des déploiements « {spec.tag} » finie en "
        f"{states}."
    )
