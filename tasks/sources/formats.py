"""Check that a downloaded payload is what the registry announces, and read its header."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import zipfile
from pathlib import Path

from tasks.core.errors import InvalidFormat
from tasks.sources.registry import Source

_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")


def check_payload(path: Path, source: Source, url: str) -> None:
    """Raise `InvalidFormat` when the file is not the announced format."""
    head = path.read_bytes()[:1024]
    where = f"{url} (source {source.id})"
    if not head:
        raise InvalidFormat("le serveur a renvoyé un fichier vide", where=where, action=_RETRY)
    if head.lstrip().lower().startswith(_HTML_MARKERS):
        raise InvalidFormat(
            f"le serveur a renvoyé une page HTML (page d'erreur ou de maintenance) "
            f"au lieu du fichier {source.format} attendu",
            where=where,
            action=_RETRY,
        )
    if source.format in {"zip", "xlsx"}:
        _check_zip(path, source, where)
    elif source.format == "json":
        _check_json(path, source, where)
    elif source.format == "csv":
        _decode_header(path.read_bytes()[:65536], source, where)


def read_header(path: Path, source: Source) -> list[str]:
    """Column names of a csv (or of the csv inside a zip), or keys of a JSON array."""
    if source.format == "json":
        records = json.loads(path.read_text(encoding=source.encoding))
        return sorted({key for record in records for key in record})
    if source.format == "zip":
        with zipfile.ZipFile(path) as archive, archive.open(member_name(archive, source)) as f:
            return _decode_header(f.read(65536), source, str(path))
    return _decode_header(path.read_bytes()[:65536], source, str(path))


def member_name(archive: zipfile.ZipFile, source: Source) -> str:
    """The inner file, matched without case: INSEE zips hold `.CSV` or `.csv`."""
    wanted = (source.member or "").lower()
    for name in archive.namelist():
        base = name.lower().rsplit("/", 1)[-1]
        if name.lower() == wanted or base == wanted or fnmatch.fnmatchcase(base, wanted):
            return name
    raise InvalidFormat(
        f"l'archive ne contient pas le fichier « {source.member} » "
        f"(elle contient : {', '.join(archive.namelist()) or 'rien'})",
        where=f"source {source.id}",
        action="le producteur a peut-être renommé le fichier : corrigez `member` dans "
        "warehouse/sources.yaml",
    )


def _check_zip(path: Path, source: Source, where: str) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            if damaged:
                raise zipfile.BadZipFile(damaged)
            if source.format == "zip":
                member_name(archive, source)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise InvalidFormat(
            f"l'archive reçue est tronquée ou corrompue ({error})",
            where=where,
            action=_RETRY,
        ) from error


def _check_json(path: Path, source: Source, where: str) -> None:
    try:
        document = json.loads(path.read_text(encoding=source.encoding))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidFormat(
            f"le JSON reçu est illisible ({error})", where=where, action=_RETRY
        ) from error
    if not isinstance(document, list) or not all(isinstance(row, dict) for row in document):
        raise InvalidFormat("le JSON reçu n'est pas une liste d'objets", where=where, action=_RETRY)


def decode_text(payload: bytes, source: Source, where: str) -> str:
    """The text of a file in the registry's encoding, without its BOM, or a French error."""
    try:
        return payload.decode(source.encoding).lstrip("\ufeff")
    except UnicodeDecodeError as error:
        raise InvalidFormat(
            f"le fichier n'est pas encodé en {source.encoding} ({error})",
            where=where,
            action="vérifiez `encoding` dans warehouse/sources.yaml",
        ) from error


def _decode_header(head: bytes, source: Source, where: str) -> list[str]:
    if b"\n" in head:
        head = head[: head.index(b"\n") + 1]
    text = decode_text(head, source, where)
    first_line = text.splitlines()[0] if text.strip() else ""
    header = next(csv.reader(io.StringIO(first_line), delimiter=source.separator or ","), [])
    if len(header) < 2:
        raise InvalidFormat(
            f"l'en-tête du fichier ne contient pas de séparateur « {source.separator} »",
            where=where,
            action="vérifiez `separator` dans warehouse/sources.yaml",
        )
    return [name.strip() for name in header]


_RETRY = (
    "réessayez plus tard ; si le problème persiste, ouvrez l'adresse dans un navigateur pour "
    "voir ce que sert le producteur, et corrigez warehouse/sources.yaml au besoin. Rien n'a "
    "été chargé ni publié."
)
