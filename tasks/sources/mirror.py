"""The mirror convention: read `https://HOST/PATH?QUERY` from `$OPENDATA_MIRROR/HOST/PATH`.

The query string, when there is one, is appended to the last path segment after an
`@`, percent-encoded except for `=&,-_.` so that the name stays readable and safe on
any filesystem:

    https://geo.api.gouv.fr/communes?codeDepartement=59&fields=nom,code
    -> $OPENDATA_MIRROR/geo.api.gouv.fr/communes@codeDepartement=59&fields=nom,code

A path ending with `/` is read from `index` in that folder. The mirror is a local
folder or an `http://` base URL serving the same tree.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

_SAFE_QUERY = "=&,-_."


def mirror_relative_path(url: str) -> str:
    parts = urlsplit(url)
    path = unquote(parts.path).lstrip("/")
    if not path or path.endswith("/"):
        path += "index"
    relative = f"{parts.hostname}/{path}"
    if parts.query:
        relative += "@" + quote(unquote(parts.query), safe=_SAFE_QUERY)
    return relative


def locate(url: str, mirror: str | None) -> str | Path:
    """Where `url` is actually read: itself, its place in an HTTP mirror, or a local file."""
    if not mirror:
        return url
    relative = mirror_relative_path(url)
    if mirror.startswith(("http://", "https://")):
        return mirror.rstrip("/") + "/" + quote(relative, safe="/@=&,-_.")
    return Path(mirror).expanduser().resolve() / relative
