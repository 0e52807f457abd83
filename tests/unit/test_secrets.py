"""The data.gouv.fr API key from the environment (tasks/publication/secrets.py).

Only the environment-variable path: without a variable, the key is looked up in a
Prefect Secret block, which needs a Prefect API (a slower layer)."""

from __future__ import annotations

import pytest

from tasks.core.errors import ConfigurationError
from tasks.publication.secrets import api_key

# Invented keys, in the shape of a data.gouv.fr key (a JWT-like token).
KEY = "eyJhbGciOiJIUzUxMiJ9.eyJ1c2VyIjoiNjY1MCJ9.c2lnbmF0dXJl"
PROD_KEY = "eyJhbGciOiJIUzUxMiJ9.eyJ1c2VyIjoicHJvZCJ9.cHJvZA"


@pytest.fixture
def environments(catalog):
    return catalog.environments


def test_each_environment_reads_its_own_variable(environments, monkeypatch):
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", KEY)
    monkeypatch.setenv("DATAGOUV_API_KEY_PROD", PROD_KEY)
    assert api_key(environments["demo"]) == KEY
    assert api_key(environments["prod"]) == PROD_KEY


def test_a_key_pasted_with_a_final_newline_is_trimmed(environments, monkeypatch):
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", f"  {KEY}\n")
    assert api_key(environments["demo"]) == KEY


@pytest.mark.parametrize("damaged", [f"{KEY[:20]}\n{KEY[20:]}", f"{KEY} {KEY}", f"{KEY}é"])
def test_a_key_with_an_inner_newline_or_space_is_refused_without_being_shown(
    environments, monkeypatch, damaged
):
    monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", damaged)
    with pytest.raises(ConfigurationError) as error:
        api_key(environments["demo"])
    message = error.value.message
    assert "la clé d'API contient des caractères inattendus" in message
    assert "variable DATAGOUV_API_KEY_DEMO" in message
    assert KEY[:20] not in message and KEY[20:] not in message
    assert KEY[:20] not in repr(error.value.args)
