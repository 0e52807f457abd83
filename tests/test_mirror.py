"""The mirror convention, documented in tasks/sources/mirror.py and the README."""

from __future__ import annotations

from pathlib import Path

from tasks.sources.mirror import locate, mirror_relative_path


def test_path_and_query_map_to_a_readable_file_name():
    url = "https://geo.api.gouv.fr/communes?codeDepartement=59&fields=nom,code&format=json"
    assert (
        mirror_relative_path(url)
        == "geo.api.gouv.fr/communes@codeDepartement=59&fields=nom,code&format=json"
    )


def test_unsafe_query_characters_are_percent_encoded():
    relative = mirror_relative_path("https://api.insee.fr/melodi/data/DS?GEO=EPCI-200093201*COM")
    assert relative == "api.insee.fr/melodi/data/DS@GEO=EPCI-200093201%2ACOM"
    assert "*" not in relative and "?" not in relative


def test_folder_urls_read_index():
    assert mirror_relative_path("https://api.insee.fr/melodi/") == "api.insee.fr/melodi/index"


def test_local_and_http_mirrors(tmp_path):
    url = "https://www.insee.fr/fr/statistiques/fichier/2521169/base_cc_comparateur_csv.zip"
    assert locate(url, None) == url
    assert (
        locate(url, str(tmp_path))
        == Path(tmp_path)
        / "www.insee.fr/fr/statistiques/fichier/2521169/base_cc_comparateur_csv.zip"
    )
    assert locate(url, "http://127.0.0.1:9/") == (
        "http://127.0.0.1:9/www.insee.fr/fr/statistiques/fichier/2521169/base_cc_comparateur_csv.zip"
    )
