"""Grouping the spellings of the beneficiaries and finding their SIRET, against a real
HTTP server on 127.0.0.1 serving FICTITIOUS recorded answers of the API Recherche
d'entreprises (tests/fixtures/recherche-entreprises/)."""

from __future__ import annotations

import csv
import filecmp
import socket
from pathlib import Path

import pytest

from tasks.core.errors import InvalidData, InvalidFormat, SourceUnavailable
from tasks.core.http import RetryPolicy
from tasks.sources.mirror import mirror_relative_path
from tasks.subventions.beneficiaries import (
    ABBREVIATIONS,
    group,
    normalise,
    rule_text,
    sort_key,
)
from tasks.subventions.entreprises import siren_url
from tasks.subventions.identifiers import (
    COLUMNS,
    NOT_SEARCHED,
    NOT_SEARCHED_TEXT,
    ApiUnreachable,
    EntreprisesClient,
    SearchRefused,
    by_spelling,
    matching_rule_text,
    read_identifiers,
    resolve,
    write_identifiers,
)
from tests.faulty_proxy import Fault, FaultyProxy
from tests.mirror_server import MirrorServer, Scripted
from tests.recherche_entreprises_fixtures import (
    ANSWERS,
    BASE_URL,
    CODE_COMMUNE,
    COMMUNE_SIREN,
    COMMUNE_SIRET,
    FOLDER,
    association,
    write_recorded_answers,
)

DOCUMENTS = [
    ("G.R.S", 2019),
    ("GRS", 2020),
    ("GRS", 2021),
    ("Coop. école maternelle", 2019),
    ("Coopérative école maternelle", 2020),
    ("Coopérative de l'école maternelle", 2021),
    ("Comité des fêtes", 2019),
    ("Comité des fêtes", 2020),
    ("Comite des Fetes", 2021),
    ("Amicale laïque de Sailly-lez-Lannoy", 2019),
    ("Amicale laïque de Sailly-lez-Lannoy", 2021),
    ("U.S. Sailly football", 2019),
    ("US Sailly Football", 2021),
    ("Club des aînés", 2020),
    ("APE de l'école Saint-Joseph", 2021),
    ("Anciens combattants UNC", 2019),
    ("Harmonie municipale", 2020),
]
UNC = "anciens combattants unc"


@pytest.fixture
def api():
    with MirrorServer(FOLDER) as server:
        yield server


def client(mirror: str, cache: Path, rate: float = 100.0, **options) -> EntreprisesClient:
    # Faster than the API's 7/s so that the suite stays quick; the rate test sets 7.
    policy = RetryPolicy(**{"timeout": 5, "attempts": 3, "backoff": 0.05, **options})
    return EntreprisesClient(BASE_URL, mirror, cache, rate=rate, policy=policy)


def search_path(q: str) -> str:
    return mirror_relative_path(
        f"{BASE_URL}?code_commune={CODE_COMMUNE}&est_association=true&include=complements,"
        f"siege&minimal=true&page=1&per_page=25&q={q}"
    )


def by_cle(identified):
    return {item.cle: item for item in identified}


# --- grouping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spellings",
    [
        ["G.R.S", "GRS", "g.r.s."],
        [
            "Coop. école maternelle",
            "Coopérative école maternelle",
            "Coopérative de l'école maternelle",
        ],
        ["Comité des fêtes", "Comite des Fetes", "COMITÉ DES FÊTES"],
        ["U.S. Sailly football", "US Sailly Football", "Union sportive Sailly-football"],
        ["Asso. des Aînés", "Association des aînés", "Assoc aînés"],
    ],
)
def test_spellings_of_one_association_share_a_normalised_form(spellings):
    assert len({normalise(spelling) for spelling in spellings}) == 1


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Club des aînés", "Club de football"),
        ("Comité des fêtes", "Comité des fêtes du quartier de la gare"),
        ("Amicale laïque", "Amicale laïque de Sailly-lez-Lannoy"),
        ("Sté de chasse", "Sainte-Cécile"),  # « ste » is not expanded: Sainte or Société
    ],
)
def test_different_associations_are_not_merged(one, other):
    assert normalise(one) != normalise(other)


def test_normalised_forms():
    assert normalise("Coopérative de l'école maternelle") == "cooperative ecole maternelle"
    assert normalise("Amicale laïque de Sailly-lez-Lannoy") == "amicale laique sailly lez lannoy"
    assert normalise("Coop.école") == "cooperative ecole"  # not an acronym: a space
    assert normalise("Les") == "les"  # small words only: kept rather than empty


def test_groups_of_the_documents():
    groups = group([*DOCUMENTS, ("  ", 2020)])
    assert len(groups) == 9
    names = [item.nom_retenu for item in groups]
    assert names == sorted(names, key=sort_key)
    found = {item.cle: item for item in groups}
    assert found["grs"].nom_retenu == "GRS"
    assert found["grs"].graphies == {"G.R.S": [2019], "GRS": [2020, 2021]}
    assert found["cooperative ecole maternelle"].nom_retenu == "Coopérative de l'école maternelle"
    assert len(found["cooperative ecole maternelle"].graphies) == 3
    assert found["comite fetes"].nom_retenu == "Comite des Fetes"
    assert found["comite fetes"].graphies["Comité des fêtes"] == [2019, 2020]
    assert groups[0].nom_retenu == "Amicale laïque de Sailly-lez-Lannoy"
    assert groups[-1].nom_retenu == "US Sailly Football"


def test_retained_name_ties_go_to_the_most_frequent_spelling():
    [only] = group([("Club des Aînés", 2021), ("Club des aines", 2021), ("Club des aines", 2021)])
    assert only.nom_retenu == "Club des aines"
    assert only.graphies == {"Club des aines": [2021], "Club des Aînés": [2021]}
    [undated] = group([("GRS", None), ("G.R.S", 2019)])
    assert undated.nom_retenu == "G.R.S" and undated.graphies["GRS"] == []


def test_rules_are_stated_in_french_from_the_tables():
    text = rule_text()
    assert "« G.R.S » = « GRS »" in text and "année la plus récente" in text
    for short, long in ABBREVIATIONS.items():
        assert f"« {short} » → « {long} »" in text
    assert "Plusieurs : rien n'est choisi" in matching_rule_text()


# --- lookups -------------------------------------------------------------------------


def test_found_ambiguous_and_not_found(api, tmp_path):
    source = client(api.url, tmp_path / "cache")
    identified = by_cle(resolve(group(DOCUMENTS), source, CODE_COMMUNE))
    grs = identified["grs"]
    assert (grs.origine, grs.siret, grs.rna) == (
        "api",
        association("grs")["siege"]["siret"],
        "W599999001",
    )
    for cle, key in [
        ("comite fetes", "comite"),
        ("amicale laique sailly lez lannoy", "amicale"),
        ("union sportive sailly football", "us"),
        ("club aines", "aines"),
        ("association parents eleves ecole saint joseph", "ape"),
    ]:
        assert identified[cle].origine == "api", cle
        assert identified[cle].siret == association(key)["siege"]["siret"]
    unc = identified[UNC]
    assert unc.origine == "ambigu" and unc.siret is None and unc.rna is None
    assert len(unc.candidats) == 2 and all(CODE_COMMUNE in label for label in unc.candidats)
    harmonie = identified["harmonie municipale"]
    assert (harmonie.origine, harmonie.siret, harmonie.candidats) == ("introuvable", None, [])
    # The school cooperative's SIRENE name has « scolaire »: a suggestion, never chosen,
    # after a query with each of its three spellings.
    coop = identified["cooperative ecole maternelle"]
    assert coop.origine == "introuvable" and coop.siret is None
    assert coop.candidats == [
        f"{association('coop')['siege']['siret']} – COOPERATIVE SCOLAIRE "
        "DE L'ECOLE MATERNELLE – RNA W599999002 – commune 59522"
    ]
    assert len(api.seen("search@")) == 9 + 2  # one query per group, three for the coop
    assert by_spelling(identified.values())["G.R.S"] is grs


def test_requests_carry_our_user_agent_and_a_stable_query(api, tmp_path):
    client(api.url, tmp_path / "cache").search("GRS", CODE_COMMUNE)
    [request] = api.seen("search@")
    assert request.path == search_path("GRS")
    assert request.headers["User-Agent"].startswith("opendata-mel/")


def test_siret_of_the_commune_by_its_siren(api, tmp_path):
    assert client(api.url, tmp_path / "cache").siege_siret(COMMUNE_SIREN) == COMMUNE_SIRET
    assert api.seen("search@q=215905225")


def test_a_local_mirror_folder_is_read_too(tmp_path):
    source = client(str(FOLDER), tmp_path / "cache")
    assert source.siege_siret(COMMUNE_SIREN) == COMMUNE_SIRET
    assert source.requests_sent == 0


def test_429_retry_after_is_honoured(api, tmp_path):
    api.script(search_path("GRS"), Scripted(429, b"trop", headers={"Retry-After": "1"}))
    [candidate] = client(api.url, tmp_path / "cache").search("GRS", CODE_COMMUNE)
    assert candidate.sigle == "GRS"
    first, second = api.seen(search_path("GRS"))
    assert second.at - first.at >= 1.0  # the server asked for one second, not the backoff


def test_a_429_from_the_faulty_proxy_is_sent_again_after_retry_after(api, tmp_path):
    with FaultyProxy(api.url) as proxy:
        proxy.fail(Fault("GET", r"search@", status=429, headers={"Retry-After": "1"}))
        [candidate] = client(proxy.url, tmp_path / "cache").search("GRS", CODE_COMMUNE)
    assert candidate.sigle == "GRS"
    first, second = [at for _, path, at in proxy.arrivals if "search@" in path]
    assert second - first >= 1.0
    assert len(api.seen("search@")) == 1  # the refused request never reached the API


def test_a_retry_after_longer_than_max_wait_stops_the_run(api, tmp_path):
    api.script(search_path("GRS"), Scripted(429, headers={"Retry-After": "3600"}))
    source = client(api.url, tmp_path / "cache", max_wait=120)
    with pytest.raises(SourceUnavailable) as error:
        source.search("GRS", CODE_COMMUNE)
    message = error.value.message
    assert "demande d'attendre 3600 s" in message and "attente maximale de 120 s" in message
    assert "relancez plus tard ; les réponses déjà reçues sont en cache" in message
    assert len(api.seen(search_path("GRS"))) == 1  # not retried early


def test_a_retry_after_within_max_wait_is_waited_for(api, tmp_path):
    api.script(search_path("GRS"), Scripted(503, headers={"Retry-After": "1"}))
    client(api.url, tmp_path / "cache", max_wait=1).search("GRS", CODE_COMMUNE)
    first, second = api.seen(search_path("GRS"))
    assert second.at - first.at >= 1.0


def test_rate_limit_spans_the_requests(api, tmp_path):
    source = client(api.url, tmp_path / "cache", rate=7.0)
    for q in ANSWERS:  # 15 recorded queries, and the commune: 16 requests
        source.search(q, CODE_COMMUNE)
    source.siege_siret(COMMUNE_SIREN)
    times = [request.at for request in api.requests]
    assert len(times) == 16 == source.requests_sent
    assert times[-1] - times[0] >= 2.0  # 15 intervals of 1/7 s


def test_second_run_is_served_by_the_cache(api, tmp_path):
    cache = tmp_path / "cache"
    source = client(api.url, cache)
    first = resolve(group(DOCUMENTS), source, CODE_COMMUNE)
    source.siege_siret(COMMUNE_SIREN)
    assert len(api.requests) == source.requests_sent == 12
    api.requests.clear()
    again = client(api.url, cache)
    assert resolve(group(DOCUMENTS), again, CODE_COMMUNE) == first
    assert again.siege_siret(COMMUNE_SIREN) == COMMUNE_SIRET
    assert api.requests == [] and again.requests_sent == 0


def test_html_instead_of_json_is_refused_in_french(api, tmp_path):
    page = b"<!DOCTYPE html><html><body>Maintenance en cours</body></html>"
    api.script(search_path("GRS"), Scripted(200, page, headers={"Content-Type": "text/html"}))
    cache = tmp_path / "cache"
    with pytest.raises(InvalidFormat) as error:
        client(api.url, cache).search("GRS", CODE_COMMUNE)
    message = error.value.message
    assert "n'est pas du JSON" in message and "<!DOCTYPE html>" in message
    assert "Rien n'a été mis en cache" in message
    assert not cache.exists() or not list(cache.iterdir())


def test_persistent_server_errors_give_up_in_french(api, tmp_path):
    api.script(search_path("GRS"), *[Scripted(503, b"maintenance")] * 3)
    with pytest.raises(SourceUnavailable) as error:
        client(api.url, tmp_path / "cache").search("GRS", CODE_COMMUNE)
    assert "après 3 tentatives (HTTP 503)" in error.value.message
    assert "Que faire : réessayez plus tard" in error.value.message


TOO_SHORT = (
    b'{"erreur": "3 caract\xc3\xa8res minimum pour les termes de la requ\xc3\xaate '
    b'(ou utilisez au moins un filtre)"}'
)


def test_a_refused_search_leaves_its_group_not_found_and_the_run_goes_on(api, tmp_path):
    api.script(search_path("Harmonie%20municipale"), Scripted(400, TOO_SHORT))
    # The coop has three spellings: the first one refused, the two others still asked.
    api.script(search_path("Coop%C3%A9rative%20de%20l%27%C3%A9cole%20maternelle"), Scripted(422))
    path = tmp_path / "identifiants.csv"
    source = client(api.url, tmp_path / "cache")
    identified = by_cle(resolve(group(DOCUMENTS), source, CODE_COMMUNE))
    harmonie = identified["harmonie municipale"]
    assert (harmonie.origine, harmonie.siret) == ("introuvable", None)
    assert harmonie.candidats == [
        "recherche « Harmonie municipale » refusée par l'API (HTTP 400 : « 3 caractères "
        "minimum pour les termes de la requête (ou utilisez au moins un filtre) ») : nom "
        "trop court ? saisissez le SIRET"
    ]
    coop = identified["cooperative ecole maternelle"]
    assert coop.origine == "introuvable"
    assert coop.candidats[0] == (
        "recherche « Coopérative de l'école maternelle » refusée par l'API (HTTP 422) : "
        "saisissez le SIRET"
    )
    assert coop.candidats[1].startswith(association("coop")["siege"]["siret"])
    assert identified["grs"].origine == "api"  # the other groups were identified
    assert source.unreachable is None  # a refusal is a bad request, not an API down
    write_identifiers(path, identified.values())
    [row] = [row for row in read_identifiers(path) if row.groupe == "harmonie municipale"]
    assert "refusée par l'API (HTTP 400" in row.candidats and not row.by_agent
    # A refusal is not cached: the next run asks again, and the API now answers.
    again = by_cle(resolve(group(DOCUMENTS), client(api.url, tmp_path / "cache"), CODE_COMMUNE))
    assert again["harmonie municipale"].candidats == []
    assert len(api.seen(search_path("Harmonie%20municipale"))) == 2


def test_a_query_the_api_would_refuse_is_not_sent(api, tmp_path):
    source = client(api.url, tmp_path / "cache")
    with pytest.raises(SearchRefused) as error:
        source.search("   ", CODE_COMMUNE)
    assert error.value.reason == "recherche non envoyée à l'API (nom vide) : saisissez le SIRET"
    # Under 3 characters the API refuses a search only when no filter comes with it.
    with pytest.raises(SearchRefused) as error:
        source.search("US", "", associations_only=False)
    assert "moins de 3 caractères sans filtre" in error.value.reason
    assert api.requests == [] and source.requests_sent == 0


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_stop_the_run_in_french(api, tmp_path, status):
    api.script(search_path("GRS"), Scripted(status))
    with pytest.raises(SourceUnavailable) as error:
        resolve(group([("GRS", 2021)]), client(api.url, tmp_path / "cache"), CODE_COMMUNE)
    message = error.value.message
    assert f"a refusé l'accès (HTTP {status})" in message
    assert "API est publique" in message and "proxy" in message
    assert "Le fichier des identifiants n'a pas été modifié" in message


def test_a_400_on_the_communes_own_lookup_stays_fatal(api, tmp_path):
    api.script(mirror_relative_path(siren_url(BASE_URL, COMMUNE_SIREN)), Scripted(400, TOO_SHORT))
    with pytest.raises(SourceUnavailable) as error:
        client(api.url, tmp_path / "cache").siege_siret(COMMUNE_SIREN)
    assert "a répondu HTTP 400" in error.value.message


def test_an_unrecorded_query_says_what_to_do(api, tmp_path):
    with pytest.raises(SourceUnavailable) as error:
        client(api.url, tmp_path / "cache").search("Club de pétanque", CODE_COMMUNE)
    assert not isinstance(error.value, ApiUnreachable)  # stops the run: nothing to wait for
    assert "HTTP 404" in error.value.message and "catalog/subventions.yaml" in error.value.message
    assert len(api.seen("search@")) == 1


# --- an API that cannot be reached ---------------------------------------------------


def closed_port() -> str:
    """The address of a loopback port nobody listens on: connection refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def down(api, how: str) -> str:
    """A mirror address where the API does not answer, in one of the ways of `how`."""
    first = search_path("Amicale%20la%C3%AFque%20de%20Sailly-lez-Lannoy")  # first asked
    if how == "connexion refusée":
        return closed_port()
    if how == "HTTP 503 persistant":
        api.script(first, *[Scripted(503, b"maintenance")] * 3)
    elif how == "HTTP 501":  # not retried by the transport, a server error all the same
        api.script(first, Scripted(501))
    elif how == "HTTP 429, Retry-After trop long":
        api.script(first, Scripted(429, headers={"Retry-After": "3600"}))
    return api.url


@pytest.mark.parametrize(
    ("how", "summary", "sent"),
    [
        ("connexion refusée", "après 3 tentatives (connexion impossible)", 3),
        ("HTTP 503 persistant", "après 3 tentatives (HTTP 503)", 3),
        ("HTTP 501", "a répondu HTTP 501", 1),
        ("HTTP 429, Retry-After trop long", "demande d'attendre 3600 s", 1),
    ],
)
def test_an_unreachable_api_leaves_the_groups_not_searched(api, tmp_path, how, summary, sent):
    source = client(down(api, how), tmp_path / "cache")
    identified = resolve(group(DOCUMENTS), source, CODE_COMMUNE)
    assert {item.origine for item in identified} == {NOT_SEARCHED}
    assert all(item.siret is None and item.rna is None for item in identified)
    assert {tuple(item.candidats) for item in identified} == {(NOT_SEARCHED_TEXT,)}
    assert summary in source.unreachable.summary
    # Once down, nothing more is sent: the next groups would wait through the same retries.
    assert source.requests_sent == sent
    with pytest.raises(ApiUnreachable):
        source.siege_siret(COMMUNE_SIREN)
    assert source.requests_sent == sent


def test_the_cache_still_answers_while_the_api_is_down(api, tmp_path):
    cache = tmp_path / "cache"
    warm = client(api.url, cache)
    warm.search("GRS", CODE_COMMUNE)
    warm.siege_siret(COMMUNE_SIREN)
    source = client(closed_port(), cache)
    documents = [("GRS", 2021), ("Club des aînés", 2021)]
    identified = by_cle(resolve(group(documents), source, CODE_COMMUNE))
    assert (identified["grs"].origine, identified["grs"].rna) == ("api", "W599999001")
    assert identified["club aines"].origine == NOT_SEARCHED
    assert source.siege_siret(COMMUNE_SIREN) == COMMUNE_SIRET
    assert source.requests_sent == 3  # the Club's first query, then nothing


def test_what_is_already_known_is_kept_while_the_api_is_down(api, tmp_path):
    """The officer's rows and the previous run's API answers are kept; the rest is « non
    recherché », and the next run, the API back, looks it up."""
    path = first_run(api, tmp_path)  # cache c1
    chosen = association("unc_bis")["siege"]["siret"]
    edit(path, "Anciens combattants UNC", siret=chosen)  # the officer's choice
    edit(path, "Harmonie municipale", rna="W599999099")  # typed by hand
    fresh = tmp_path / "c2"  # no cache, and no API
    source = client(closed_port(), fresh)
    identified = by_cle(resolve(group(DOCUMENTS), source, CODE_COMMUNE, read_identifiers(path)))
    assert (identified[UNC].origine, identified[UNC].siret) == ("agent", chosen)
    harmonie = identified["harmonie municipale"]
    assert (harmonie.origine, harmonie.rna) == ("agent", "W599999099")
    # previous `api` rows: their SIRET, RNA and answer, as found before
    aines = identified["club aines"]
    assert (aines.origine, aines.siret) == ("api", association("aines")["siege"]["siret"])
    assert aines.candidats == [association_label("aines")]
    # found before as a mere suggestion: not searched, its suggestion kept
    coop = identified["cooperative ecole maternelle"]
    assert (coop.origine, coop.siret) == (NOT_SEARCHED, None)
    assert coop.candidats[0] == NOT_SEARCHED_TEXT
    assert coop.candidats[1].startswith(association("coop")["siege"]["siret"])
    write_identifiers(path, identified.values())
    written = {row.graphie: row for row in read_identifiers(path)}
    assert (written["Anciens combattants UNC"].origine, written["GRS"].origine) == ("agent", "api")
    assert written["Coop. école maternelle"].origine == NOT_SEARCHED
    assert not written["Coop. école maternelle"].by_agent  # searched next time

    # The API is back: what was not searched is, the officer's rows are kept.
    api.requests.clear()
    again = by_cle(
        resolve(group(DOCUMENTS), client(api.url, fresh), CODE_COMMUNE, read_identifiers(path))
    )
    assert again["cooperative ecole maternelle"].origine == "introuvable"
    assert (again[UNC].origine, again[UNC].siret) == ("agent", chosen)
    assert again["harmonie municipale"].rna == "W599999099"
    assert api.seen("Coop") and not api.seen("Anciens") and not api.seen("Harmonie")


def test_a_siret_changed_beside_an_emptied_answer_is_kept_while_the_api_is_down(api, tmp_path):
    path = first_run(api, tmp_path)
    chosen = association("aines")["siege"]["siret"]
    edit(path, "GRS", siret=chosen, candidats="")  # origine left at « api »
    source = client(closed_port(), tmp_path / "c2")
    grs = by_cle(resolve(group(DOCUMENTS), source, CODE_COMMUNE, read_identifiers(path)))["grs"]
    # G.R.S still names the answer the program wrote: GRS's other SIRET is the officer's
    assert (grs.origine, grs.siret) == ("agent", chosen)


def test_an_officers_answer_on_a_not_searched_row_is_theirs(api, tmp_path):
    path = tmp_path / "identifiants.csv"
    source = client(closed_port(), tmp_path / "cache")
    write_identifiers(path, resolve(group(DOCUMENTS), source, CODE_COMMUNE))
    chosen = association("grs")["siege"]["siret"]
    edit(path, "GRS", siret=chosen)  # origine left at « non recherché »
    edit(path, "G.R.S", siret=chosen)
    identified = by_cle(
        resolve(
            group(DOCUMENTS), client(api.url, tmp_path / "cache"), "59522", read_identifiers(path)
        )
    )
    assert (identified["grs"].origine, identified["grs"].siret) == ("agent", chosen)
    assert not api.seen("GRS") and api.seen("Club")


# --- the identifiers file ------------------------------------------------------------


def first_run(api, tmp_path) -> Path:
    path = tmp_path / "identifiants.csv"
    write_identifiers(path, resolve(group(DOCUMENTS), client(api.url, tmp_path / "c1"), "59522"))
    return path


def edit(path: Path, graphie: str, **changes) -> None:
    with path.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.DictReader(source, delimiter=";"))
    [row] = [row for row in rows if row["graphie"] == graphie]
    row.update(changes)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)


def test_identifiers_file_round_trip(api, tmp_path):
    path = first_run(api, tmp_path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + ";".join(COLUMNS).encode())
    rows = read_identifiers(path)
    assert len(rows) == sum(1 for _ in {name for name, _ in DOCUMENTS})
    grs = {row.graphie: row for row in rows}["G.R.S"]
    assert (grs.groupe, grs.nom_retenu, grs.origine, grs.annees) == ("grs", "GRS", "api", [2019])
    assert grs.siret == association("grs")["siege"]["siret"]
    assert not any(row.by_agent or row.regrouped for row in rows)
    # Rewriting what was read changes nothing.
    again = resolve(group(DOCUMENTS), client(api.url, tmp_path / "c1"), "59522", rows)
    write_identifiers(tmp_path / "copie.csv", again)
    assert (tmp_path / "copie.csv").read_bytes() == raw
    assert read_identifiers(tmp_path / "absent.csv") == []


def test_the_officers_siret_on_an_ambiguous_row_wins(api, tmp_path):
    path = first_run(api, tmp_path)
    chosen = association("unc_bis")["siege"]["siret"]
    edit(path, "Anciens combattants UNC", siret=chosen, nom_retenu="UNC Sailly")
    api.requests.clear()
    fresh_cache = tmp_path / "c2"  # every other group is asked again, not this one
    identified = by_cle(
        resolve(group(DOCUMENTS), client(api.url, fresh_cache), "59522", read_identifiers(path))
    )
    unc = identified[UNC]
    assert (unc.origine, unc.siret, unc.nom_retenu) == ("agent", chosen, "UNC Sailly")
    assert len(unc.candidats) == 2  # what the officer chose among, kept
    assert not api.seen("Anciens")
    assert api.seen("GRS")
    write_identifiers(path, identified.values())
    [row] = [row for row in read_identifiers(path) if row.groupe == UNC]
    assert (row.origine, row.siret) == ("agent", chosen)


def rerun(api, tmp_path, path: Path, cache: str = "c2"):
    """A second run, on a fresh cache: every group not kept as the officer's is asked."""
    api.requests.clear()
    source = client(api.url, tmp_path / cache)
    return by_cle(resolve(group(DOCUMENTS), source, "59522", read_identifiers(path)))


def test_a_siret_corrected_without_changing_origine_wins(api, tmp_path):
    path = first_run(api, tmp_path)
    chosen = association("aines")["siege"]["siret"]
    edit(path, "GRS", siret=chosen)  # origine left at « api »
    identified = rerun(api, tmp_path, path)
    grs = identified["grs"]
    assert (grs.origine, grs.siret, grs.rna) == ("agent", chosen, "W599999001")
    assert not api.seen("GRS") and api.seen("Club")
    write_identifiers(path, identified.values())
    rows = [row for row in read_identifiers(path) if row.groupe == "grs"]
    assert {(row.origine, row.siret) for row in rows} == {("agent", chosen)}
    assert rerun(api, tmp_path, path, "c3")["grs"].siret == chosen  # and it stays


def test_an_rna_corrected_or_a_siret_cleared_without_changing_origine_wins(api, tmp_path):
    path = first_run(api, tmp_path)
    edit(path, "Club des aînés", rna="W599999077")
    edit(path, "Comité des fêtes", siret="")
    identified = rerun(api, tmp_path, path)
    aines, comite = identified["club aines"], identified["comite fetes"]
    assert (aines.origine, aines.rna) == ("agent", "W599999077")
    assert aines.siret == association("aines")["siege"]["siret"]
    # The officer's row says « not this SIRET »: it wins over the group's other row.
    assert (comite.origine, comite.siret, comite.rna) == ("agent", None, "W599999003")
    assert not api.seen("Club") and not api.seen("Comit")


def test_a_nom_retenu_corrected_without_changing_origine_wins(api, tmp_path):
    path = first_run(api, tmp_path)
    edit(path, "GRS", nom_retenu="Gymnastique rythmique de Sailly")
    edit(path, "G.R.S", nom_retenu="Gymnastique rythmique de Sailly")
    identified = rerun(api, tmp_path, path)
    grs = identified["grs"]
    assert (grs.origine, grs.nom_retenu) == ("agent", "Gymnastique rythmique de Sailly")
    assert grs.siret == association("grs")["siege"]["siret"]  # the API's, kept
    assert not api.seen("GRS")
    write_identifiers(path, identified.values())
    rows = [row for row in read_identifiers(path) if row.groupe == "grs"]
    assert {row.origine for row in rows} == {"agent"}
    # Another spelling of the group as nom_retenu is not a correction.
    edit(path, "Club des aînés", nom_retenu="Club des aînés")
    assert rerun(api, tmp_path, path, "c3")["club aines"].origine == "api"


def test_an_api_row_without_its_answer_is_compared_with_the_api_now(api, tmp_path):
    path = first_run(api, tmp_path)
    edit(path, "Club des aînés", candidats="")  # same SIRET: still the program's
    assert rerun(api, tmp_path, path)["club aines"].origine == "api"
    chosen = association("grs")["siege"]["siret"]
    edit(path, "Club des aînés", candidats="", siret=chosen)
    aines = rerun(api, tmp_path, path, "c3")["club aines"]
    assert (aines.origine, aines.siret) == ("agent", chosen)
    assert aines.candidats == [association_label("aines")]  # what the API answered now


def association_label(key: str) -> str:
    unit = association(key)
    return f"{unit['siege']['siret']} – {unit['nom_complet']} – RNA " + (
        f"{unit['complements']['identifiant_association']} – commune {CODE_COMMUNE}"
    )


def test_a_regrouped_spelling_joins_its_new_group(api, tmp_path):
    documents = [*DOCUMENTS, ("Amicale laïque", 2022)]
    path = tmp_path / "identifiants.csv"
    write_identifiers(path, resolve(group(documents), client(api.url, tmp_path / "c"), "59522"))
    amicale = {row.graphie: row for row in read_identifiers(path)}["Amicale laïque"]
    assert (amicale.groupe, amicale.origine) == ("amicale laique", "introuvable")
    edit(path, "Amicale laïque", groupe="amicale laique sailly lez lannoy")
    identified = resolve(
        group(documents), client(api.url, tmp_path / "c"), "59522", read_identifiers(path)
    )
    merged = by_cle(identified)["amicale laique sailly lez lannoy"]
    assert "amicale laique" not in by_cle(identified)
    assert set(merged.graphies) == {"Amicale laïque", "Amicale laïque de Sailly-lez-Lannoy"}
    assert merged.nom_retenu == "Amicale laïque"  # the most recent spelling (2022)
    assert merged.origine == "api" and merged.siret == association("amicale")["siege"]["siret"]
    write_identifiers(path, identified)
    rows = {row.graphie: row for row in read_identifiers(path)}
    assert rows["Amicale laïque"].regrouped and rows["Amicale laïque"].siret == merged.siret


def test_an_officers_row_for_a_vanished_spelling_is_kept(api, tmp_path):
    path = first_run(api, tmp_path)
    edit(path, "Harmonie municipale", origine="agent", rna="W599999099")
    documents = [(name, year) for name, year in DOCUMENTS if name != "Harmonie municipale"]
    identified = by_cle(
        resolve(group(documents), client(api.url, tmp_path / "c1"), "59522", read_identifiers(path))
    )
    kept = identified["harmonie municipale"]
    assert (kept.origine, kept.rna, kept.absent, kept.graphies) == (
        "agent",
        "W599999099",
        True,
        {"Harmonie municipale": [2020]},
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"siret": "2159052250001"}, "il doit compter 14 chiffres"),
        ({"siret": "2,15905E+13"}, "notation scientifique"),
        ({"siret": "21590522500012"}, "clé de contrôle"),
        ({"rna": "59123"}, "W suivi de 9 chiffres"),
        ({"origine": "ok"}, "origine « ok » inconnue"),
    ],
)
def test_a_malformed_row_is_refused_in_french(api, tmp_path, change, expected):
    path = first_run(api, tmp_path)
    edit(path, "Club des aînés", **change)
    with pytest.raises(InvalidData) as error:
        read_identifiers(path)
    message = error.value.message
    assert message.startswith("Données invalides : ") and expected in message
    assert f"{path}, ligne " in message and "Club des aînés" in message
    assert "Rien n'a été recherché ni écrit" in message


def test_a_missing_column_is_refused_in_french(tmp_path):
    path = tmp_path / "identifiants.csv"
    path.write_text("graphie,groupe,siret\nGRS,grs,\n", encoding="utf-8")  # commas, not ;
    with pytest.raises(InvalidData) as error:
        read_identifiers(path)
    assert "colonne(s) absente(s)" in error.value.message
    assert f"{path}, ligne 1 (en-tête)" in error.value.message
    assert "séparateur point-virgule" in error.value.message


def test_contradictory_officer_rows_stop_before_any_request(api, tmp_path):
    path = first_run(api, tmp_path)
    edit(path, "G.R.S", origine="agent", siret=association("grs")["siege"]["siret"])
    edit(path, "GRS", origine="agent", siret=association("aines")["siege"]["siret"])
    api.requests.clear()
    with pytest.raises(InvalidData) as error:
        resolve(
            group(DOCUMENTS), client(api.url, tmp_path / "vide"), "59522", read_identifiers(path)
        )
    assert "le groupe « grs » a deux siret différents" in error.value.message
    assert api.requests == []


def test_recorded_answers_match_their_tables(tmp_path):
    write_recorded_answers(tmp_path)
    host = "recherche-entreprises.api.gouv.fr"
    comparison = filecmp.dircmp(tmp_path / host, FOLDER / host)
    assert not comparison.left_only and not comparison.right_only
    for name in (FOLDER / host).iterdir():
        assert (tmp_path / host / name.name).read_bytes() == name.read_bytes(), name.name
