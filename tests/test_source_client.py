"""The source client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import re
import socket

import pytest

from tasks.core.errors import SourceUnavailable
from tasks.core.settings import Settings
from tasks.sources.client import SourceClient
from tests.conftest import COMPARATEUR
from tests.faulty_proxy import Fault, FaultyProxy
from tests.mirror_server import Scripted

URL = f"https://{COMPARATEUR}"


def client(mirror_url: str, attempts: int = 3) -> SourceClient:
    env = {
        "OPENDATA_MIRROR": mirror_url,
        "OPENDATA_HTTP_ATTEMPTS": str(attempts),
        "OPENDATA_HTTP_BACKOFF": "0.05",
        "OPENDATA_HTTP_TIMEOUT": "5",
    }
    return SourceClient(Settings.from_env(env))


def test_http_500_then_success_is_retried(mirror, tmp_path):
    mirror.script(COMPARATEUR, Scripted(500, b"erreur"), Scripted(503, b"maintenance"))
    target = tmp_path / "file.zip"
    download = client(mirror.url).download(URL, target)
    assert not download.not_modified
    assert target.read_bytes() == (mirror.root / COMPARATEUR).read_bytes()
    assert len(mirror.seen(COMPARATEUR)) == 3


def test_persistent_errors_give_up_with_a_french_message(mirror, tmp_path):
    mirror.script(COMPARATEUR, *[Scripted(500)] * 3)
    with pytest.raises(SourceUnavailable) as error:
        client(mirror.url).download(URL, tmp_path / "file.zip")
    assert "après 3 tentatives" in error.value.message and "HTTP 500" in error.value.message
    assert "n'ont pas été modifiés" in error.value.message


def test_429_retry_after_is_honoured(mirror, tmp_path):
    mirror.script(COMPARATEUR, Scripted(429, headers={"Retry-After": "1"}))
    client(mirror.url).download(URL, tmp_path / "file.zip")
    first, second = mirror.seen(COMPARATEUR)
    assert second.at - first.at >= 1.0  # the server asked for one second, not the 0.05 s backoff


def test_a_429_from_the_faulty_proxy_is_sent_again_after_retry_after(mirror, tmp_path):
    target = tmp_path / "file.zip"
    with FaultyProxy(mirror.url) as proxy:
        proxy.fail(Fault("GET", re.escape(COMPARATEUR), status=429, headers={"Retry-After": "1"}))
        client(proxy.url).download(URL, target)
    assert target.read_bytes() == (mirror.root / COMPARATEUR).read_bytes()
    first, second = [at for _, path, at in proxy.arrivals if COMPARATEUR in path]
    assert second - first >= 1.0  # the proxy asked for one second, not the 0.05 s backoff
    assert len(mirror.seen(COMPARATEUR)) == 1  # the refused request never reached it


def test_a_retry_after_beyond_the_maximum_wait_stops_with_what_to_do(mirror, tmp_path):
    mirror.script(COMPARATEUR, Scripted(503, headers={"Retry-After": "3600"}))
    settings = Settings.from_env({"OPENDATA_MIRROR": mirror.url, "OPENDATA_HTTP_MAX_WAIT": "60"})
    with pytest.raises(SourceUnavailable) as error:
        SourceClient(settings).download(URL, tmp_path / "file.zip")
    message = error.value.message
    assert "demande d'attendre 3600 s" in message and "attente maximale de 60 s" in message
    assert "OPENDATA_HTTP_MAX_WAIT" in message and "n'ont pas été modifiés" in message
    assert len(mirror.seen(COMPARATEUR)) == 1


def test_404_is_not_retried_and_says_what_to_do(mirror, tmp_path):
    with pytest.raises(SourceUnavailable) as error:
        client(mirror.url).download("https://www.insee.fr/fichier/absent.zip", tmp_path / "x")
    assert "HTTP 404" in error.value.message and "sources.yaml" in error.value.message
    assert len(mirror.seen("absent.zip")) == 1


def test_unreachable_source(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceUnavailable) as error:
        client(f"http://127.0.0.1:{port}", attempts=2).download(URL, tmp_path / "x")
    assert "connexion impossible" in error.value.message
    assert "Source injoignable" in error.value.message


def test_conditional_get_and_user_agent(mirror, tmp_path):
    source_client = client(mirror.url)
    first = source_client.download(URL, tmp_path / "a.zip")
    assert first.validators.last_modified
    second = source_client.download(URL, tmp_path / "b.zip", first.validators)
    assert second.not_modified and not (tmp_path / "b.zip").exists()
    request = mirror.seen(COMPARATEUR)[-1]
    assert request.headers["If-Modified-Since"] == first.validators.last_modified
    assert request.headers["User-Agent"].startswith("opendata-mel/")


def test_a_local_mirror_without_the_file_says_so(tmp_path):
    with pytest.raises(SourceUnavailable) as error:
        client(str(tmp_path)).download(URL, tmp_path / "x")
    assert "absent" in error.value.message and "samples/README.md" in error.value.message


def test_etag_is_sent_back_as_if_none_match(mirror, tmp_path):
    body = (mirror.root / COMPARATEUR).read_bytes()
    mirror.script(COMPARATEUR, Scripted(200, body, {"ETag": '"v1"'}), Scripted(304))
    source_client = client(mirror.url)
    first = source_client.download(URL, tmp_path / "a.zip")
    assert first.validators.etag == '"v1"'
    assert source_client.download(URL, tmp_path / "b.zip", first.validators).not_modified
    assert mirror.seen(COMPARATEUR)[-1].headers["If-None-Match"] == '"v1"'


def test_a_transfer_cut_short_is_retried(mirror, tmp_path):
    body = (mirror.root / COMPARATEUR).read_bytes()
    mirror.script(COMPARATEUR, Scripted(200, body[:100], announced_length=len(body)))
    target = tmp_path / "file.zip"
    client(mirror.url).download(URL, target)
    assert target.read_bytes() == body
    assert len(mirror.seen(COMPARATEUR)) == 2
