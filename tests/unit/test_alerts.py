"""The failure alert's pieces, without a Prefect server (the whole alert, sent for real
by a Prefect server to a loopback receiver: tests/test_operations.py)."""

from __future__ import annotations

import pytest

from tasks.core.errors import ConfigurationError
from tasks.operations.alerts import AlertSpec, automation, notification_block, webhook_from_env

SECRET = "http://127.0.0.1:9/hooks/T0-jeton-secret-42"


def test_no_address_means_no_webhook():
    assert webhook_from_env({}) is None
    assert webhook_from_env({"OPENDATA_WEBHOOK_URL": "  "}) is None


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://hooks.slack.com/services/T0/B0/abc", "slack"),
        ("https://contoso.webhook.office.com/webhookb2/abc", "teams"),
        ("https://prod-01.westeurope.logic.azure.com/workflows/abc", "teams"),
        ("https://chat.example.fr/hooks/abc", "generique"),  # Mattermost, Rocket.Chat…
        (SECRET, "generique"),
    ],
)
def test_the_kind_is_read_from_the_address(url, kind):
    assert webhook_from_env({"OPENDATA_WEBHOOK_URL": url}).kind == kind


def test_the_kind_can_be_forced_and_an_unknown_kind_is_refused_in_french():
    forced = {"OPENDATA_WEBHOOK_URL": SECRET, "OPENDATA_WEBHOOK_TYPE": "Slack"}
    assert webhook_from_env(forced).kind == "slack"
    with pytest.raises(ConfigurationError) as refused:
        webhook_from_env({"OPENDATA_WEBHOOK_URL": SECRET, "OPENDATA_WEBHOOK_TYPE": "pigeon"})
    assert "type de webhook inconnu : pigeon" in refused.value.message
    assert "slack, teams, generique" in refused.value.message


def test_a_bad_address_is_refused_without_being_shown():
    with pytest.raises(ConfigurationError) as refused:
        webhook_from_env({"OPENDATA_WEBHOOK_URL": "hooks.example.fr/jeton-secret-42"})
    assert "n'est pas une URL http(s)" in refused.value.message
    assert "jeton-secret-42" not in refused.value.message
    assert "c'est un secret" in refused.value.message


def test_the_address_never_shows_in_the_webhook_or_its_block():
    webhook = webhook_from_env({"OPENDATA_WEBHOOK_URL": SECRET})
    assert "jeton-secret" not in repr(webhook)
    block = notification_block(webhook, AlertSpec.load())
    # the address lives in the block's secret fields: what the API and the UI show is masked
    assert "jeton-secret" not in block.model_dump_json()
    assert "jeton-secret" not in repr(block)
    assert block.url == "{{adresse}}"
    request = block._build_request_args(body="corps", subject="sujet")
    assert request["url"] == SECRET  # what the server sends to, once the secret is applied
    assert request["json"]["text"] == "sujet\n\ncorps"


def test_a_slack_address_that_is_not_one_is_refused_without_being_shown():
    webhook = webhook_from_env({"OPENDATA_WEBHOOK_URL": SECRET, "OPENDATA_WEBHOOK_TYPE": "teams"})
    try:
        block = notification_block(webhook, AlertSpec.load())
    except ConfigurationError as refused:
        assert "jeton-secret" not in refused.message
        assert "ne ressemble pas à un webhook teams" in refused.message
    else:  # accepted as is: still never shown
        assert "jeton-secret" not in block.model_dump_json()


def test_the_automation_watches_failed_and_crashed_runs_of_the_project_only():
    spec = AlertSpec.load()
    wanted = automation(spec, "00000000-0000-0000-0000-000000000001")
    trigger = wanted.trigger
    assert trigger.expect == {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}
    assert trigger.posture == "Reactive" and trigger.threshold == 1
    related = trigger.match_related
    related = related[0] if isinstance(related, list) else related
    assert related.model_dump() == {
        "prefect.resource.role": "tag",
        "prefect.resource.id": "prefect.tag.opendata-mel",
    }
    [action] = wanted.actions
    assert action.type == "send-notification"
    assert "flow_run.state.message" in action.body and "flow_run|ui_url" in action.body
    assert "ÉCHEC d'une exécution d'opendata-mel" in action.body


def test_every_deployment_carries_the_tag_the_alert_watches():
    import yaml

    from tests.conftest import ROOT

    spec = AlertSpec.load()
    prefect = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text(encoding="utf-8"))
    untagged = [d["name"] for d in prefect["deployments"] if spec.tag not in d.get("tags", [])]
    assert untagged == []


def test_a_definition_with_a_missing_key_is_refused_in_french(tmp_path):
    broken = tmp_path / "alertes.yaml"
    broken.write_text("nom: x\netiquette: opendata-mel\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as refused:
        AlertSpec.load(broken)
    assert "clé manquante dans la définition de l'alerte" in refused.value.message


@pytest.mark.parametrize(
    ("state_message", "shown"),
    [
        (
            "Flow run encountered an exception: ConfigurationError: Configuration invalide : "
            "source(s) inconnue(s) : x\n  Où : warehouse/sources.yaml",
            "Configuration invalide : source(s) inconnue(s) : x\n  Où : warehouse/sources.yaml",
        ),
        ("Execution was cancelled by the runtime environment.", "Execution was cancelled by"),
        (None, "Ce qui s'est passé, où, et que faire :\n\n"),
    ],
)
def test_the_message_is_the_state_message_without_prefects_english_prefix(state_message, shown):
    """Rendered by the template engine of the Prefect server, as it sends the alert."""
    from types import SimpleNamespace

    from prefect.server.events.jinja_filters import all_filters
    from prefect.server.utilities.user_templates import (
        register_user_template_filters,
        render_user_template_sync,
    )

    register_user_template_filters(all_filters)  # as the server does when it starts
    spec = AlertSpec.load()
    run = SimpleNamespace(
        name="essai", parameters={}, state=SimpleNamespace(name="Failed", message=state_message)
    )
    context = {
        "flow_run": run,
        "flow": SimpleNamespace(name="yearly_refresh"),
        "deployment": SimpleNamespace(name="annuel"),
    }
    body = render_user_template_sync(spec.body, context)
    assert body.startswith("ÉCHEC d'une exécution d'opendata-mel\nDéploiement : yearly_refresh/")
    assert shown in body
    assert "Flow run encountered" not in body and "ConfigurationError" not in body
