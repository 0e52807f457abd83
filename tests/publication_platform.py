"""The udata platform a publishing test publishes to (tests/conftest.py, `platform`): its
own organisations of the session's udata, behind a proxy that can fail on purpose."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from flows.publish import publish
from tests.faulty_proxy import FaultyProxy


@dataclass
class Platform:
    proxy: FaultyProxy
    url: str
    key: str
    outsider_key: str
    organisations: dict[str, str]
    catalog: Path
    outcomes: list

    def publish(self, **options):
        """The publication flow, as the refresh runs it: the core fiches, gated by the
        checks of the session's refresh (its warehouse is the one published)."""
        options.setdefault("datasets", CORE)
        options.setdefault("outcomes", self.outcomes)
        options.setdefault("dry_run", False)
        return publish(env="demo", **options)

    def datasets(self, perimetre: str) -> list[dict]:
        return self.datasets_of(self.organisations[perimetre])

    def datasets_of(self, organisation: str) -> list[dict]:
        answer = requests.get(
            f"{self.url}/api/1/organizations/{organisation}/datasets/?page_size=100",
            timeout=30,
        )
        return [
            requests.get(f"{self.url}/api/1/datasets/{d['id']}/", timeout=30).json()
            for d in answer.json()["data"]
        ]

    def dataset(self, perimetre: str, fiche: str) -> dict:
        [found] = [
            d
            for d in self.datasets(perimetre)
            if d["extras"].get("opendata-mel:jeu") == f"{fiche}/{perimetre}"
        ]
        return found

    def fiche_ids(self, fiche: str) -> dict:
        return yaml.safe_load((self.catalog / "fiches" / f"{fiche}.yaml").read_text())["datagouv"]

    def configure(self, change) -> None:
        """Change catalog/publication.yaml as an operator would: `change(config)`."""
        path = self.catalog / "publication.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(config)
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    def retitle_communes(self) -> None:
        """The data officer renames the communes fiche: « Communes (référentiel) — … »."""
        fiche = self.catalog / "fiches" / "communes.yaml"
        text = fiche.read_text(encoding="utf-8")
        assert text.count(" — {perimetre}") == 1
        fiche.write_text(text.replace(" — {perimetre}", " (référentiel) — {perimetre}"), "utf-8")

    def opt_in(self, code: str, organisation: str | None = None) -> None:
        """A commune of the MEL opts in: one entry in catalog/publication.yaml."""
        organisation = organisation or self.organisations[code]
        self.organisations.setdefault(code, organisation)

        def add(config: dict) -> None:
            config["perimetres"][code] = {"commune": code, "organisations": {"demo": organisation}}

        self.configure(add)


# The (fictitious, valid key) SIRET of Sailly-lez-Lannoy's mairie in the recorded answers
# of the Recherche d'entreprises (tests/fixtures/recherche-entreprises/README.md): the
# repository's configuration leaves it empty, the real one not being known offline.
SIRET_SAILLY = "21590522500011"
# The datasets most tests publish: the reference and the comparateur (every fiche is
# published by tests/test_publish_all.py).
CORE = ["communes", "comparateur"]
DATASETS = [(p, f) for p in ("mel", "59522") for f in CORE]
RESOURCES = ["controles", "dictionnaire", "donnees"]


def data_resource(dataset: dict) -> dict:
    """The data file of a dataset as the platform returns it."""
    return next(r for r in dataset["resources"] if r["type"] == "main")
