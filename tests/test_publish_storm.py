"""A 429 storm in the middle of a publication for the 95 communes of the MEL, against a
real udata on 127.0.0.1: the run stops in French, the rerun resumes without duplicates.
In a file of its own, the suite's longest test: the test processes share the load."""

from __future__ import annotations

import pytest

from tasks.publication.datagouv import TransientPublicationError
from tests.faulty_proxy import Fault
from tests.publication_platform import RESOURCES

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_a_429_storm_in_the_middle_of_95_communes_resumes_without_duplicates(
    platform, udata_server, monkeypatch
):
    if udata_server["bulk_taken"]:
        pytest.fail("les organisations des 95 communes servent à un seul test par session")
    udata_server["bulk_taken"] = True
    communes = udata_server["bulk"]  # code → organisation, the 95 communes of the MEL
    assert len(communes) == 95
    platform.configure(
        lambda config: config["perimetres"].update(
            {
                code: {"commune": code, "organisations": {"demo": org}}
                for code, org in communes.items()
            }
        )
    )
    # From the 41st dataset on, data.gouv.fr refuses every creation for an hour.
    storm = Fault(
        "POST",
        r"/api/1/datasets/$",
        status=429,
        headers={"Retry-After": "3600"},
        times=10**6,
        skip=40,
    )
    platform.proxy.fail(storm)

    state = platform.publish(datasets=["communes"], perimetres=list(communes), return_state=True)

    with pytest.raises(TransientPublicationError) as error:
        state.result()
    assert "3600 s" in error.value.message and "Retry-After" in error.value.message
    assert "reprend là où elle s'est arrêtée" in error.value.action
    published = [code for code in communes if platform.datasets_of(communes[code])]
    assert len(published) == 40
    platform.proxy.faults.clear()

    report = platform.publish(datasets=["communes"], perimetres=list(communes))

    actions = [p.action for p in report.datasets]
    assert actions.count("créer") == 55 and actions.count("inchangé") == 40
    for code, organisation in communes.items():
        [dataset] = platform.datasets_of(organisation)
        assert dataset["extras"]["opendata-mel:jeu"] == f"communes/{code}"
        resources = sorted(r["extras"].get("opendata-mel:ressource") for r in dataset["resources"])
        assert resources == RESOURCES, code
