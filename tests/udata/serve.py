"""Run a real udata (the software of data.gouv.fr) on 127.0.0.1 for the tests.

Runs under its own virtualenv (`.venv-udata`: udata cannot share one with prefect),
with mongomock instead of MongoDB. Seeds what the publisher needs, prints one JSON
line (port, API keys, organisation ids) on stdout, then serves until killed.

Usage: .venv-udata/bin/python tests/udata/serve.py SEED_JSON WORKDIR

SEED_JSON: {"zones": [GeoZone fields…], "pool": N, "perimetres": ["mel", "59522", …],
"bulk": ["59009", …]}: N sets of one organisation per perimeter (one set per publishing
test), and one organisation per code of `bulk` (many communes at once).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path


def write_settings(workdir: Path, port: int) -> Path:
    settings = workdir / "udata_settings.py"
    settings.write_text(
        f"""
import mongomock
SECRET_KEY = "test-only"
API_TOKEN_SECRET = "test-only-too"
SECURITY_PASSWORD_SALT = "test-salt"
MONGODB_SETTINGS = {{"host": "mongodb://localhost:27017/udata", "db": "udata",
                    "mongo_client_class": mongomock.MongoClient}}
SERVER_NAME = "127.0.0.1:{port}"
CDATA_BASE_URL = "http://127.0.0.1:{port}"
CELERY_TASK_ALWAYS_EAGER = True
FS_ROOT = {str(workdir / "fs")!r}
CACHE_TYPE = "NullCache"
URLS_ALLOW_LOCAL = True
""",
        encoding="utf-8",
    )
    return settings


def seed(app, plan: dict) -> dict:
    from udata.core.api_token.models import ApiToken
    from udata.core.organization.models import Member, Organization
    from udata.core.user.factories import UserFactory
    from udata.models import GeoLevel, GeoZone, License

    with app.app_context():
        License(id="lov2", title="Licence Ouverte / Open Licence version 2.0", active=True).save()
        GeoLevel(id="fr:commune", name="Commune", admin_level=80).save()
        GeoLevel(id="fr:epci", name="EPCI", admin_level=70).save()
        for zone in plan["zones"]:
            GeoZone(**zone).save()
        publisher, outsider = UserFactory(), UserFactory()

        def organisation(name: str) -> str:
            return str(
                Organization(
                    name=name,
                    description="Organisation de test",
                    members=[Member(user=publisher, role="admin")],
                )
                .save()
                .id
            )

        # A pool of organisation sets, so that each test publishes into fresh ones.
        pool = [
            {code: organisation(f"Organisation {code} {index}") for code in plan["perimetres"]}
            for index in range(plan["pool"])
        ]
        bulk = {code: organisation(f"Commune {code}") for code in plan.get("bulk", [])}
        _, key = ApiToken.generate(publisher, name="opendata-mel")
        _, outsider_key = ApiToken.generate(outsider, name="sans-droits")
        return {"key": key, "outsider_key": outsider_key, "organisations": pool, "bulk": bulk}


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    workdir = Path(sys.argv[2])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ["UDATA_SETTINGS"] = str(write_settings(workdir, port))
    from udata.app import create_app, standalone
    from werkzeug.serving import make_server

    app = standalone(create_app())
    seeded = seed(app, plan)
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(json.dumps({"port": port, **seeded}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
