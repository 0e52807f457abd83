"""The raw area: every file kept exactly as downloaded, with one manifest row each."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import shutil
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from tasks.sources.client import Validators

MANIFEST = "manifest.csv"


@dataclass(frozen=True)
class RawFile:
    source_id: str
    url: str
    millesime: int | None
    sha256: str
    size: int
    fetched_at: str
    path: str
    etag: str = ""
    last_modified: str = ""

    @property
    def validators(self) -> Validators:
        return Validators(self.etag or None, self.last_modified or None)


class RawStore:
    def __init__(self, root: Path):
        self.root = root

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    def rows(self) -> list[RawFile]:
        if not self.manifest.exists():
            return []
        with self.manifest.open(encoding="utf-8", newline="") as f:
            return [_row(record) for record in csv.DictReader(f)]

    def latest(self, url: str) -> RawFile | None:
        matches = [row for row in self.rows() if row.url == url and (self.root / row.path).exists()]
        return matches[-1] if matches else None

    def file(self, row: RawFile) -> Path:
        return self.root / row.path

    def scratch(self, source_id: str) -> Path:
        folder = self.root / "_en_cours"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{source_id}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"

    def keep(
        self,
        scratch: Path,
        *,
        source_id: str,
        url: str,
        millesime: int | None,
        validators: Validators,
    ) -> tuple[RawFile, bool]:
        """Move a checked download into the raw area; `False` when that content was kept already."""
        sha256 = sha256_of(scratch)
        for row in reversed(self.rows()):
            if row.url == url and row.sha256 == sha256 and self.file(row).exists():
                scratch.unlink()
                if row.validators != validators and (validators.etag or validators.last_modified):
                    # Same bytes, new ETag/Last-Modified: remember them for the next 304.
                    row = replace(
                        row,
                        fetched_at=_now(),
                        etag=validators.etag or "",
                        last_modified=validators.last_modified or "",
                    )
                    self._append(row)
                return row, False
        relative = Path(source_id) / str(millesime or "sans_millesime") / sha256[:12] / _name(url)
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(scratch, target)
        row = RawFile(
            source_id=source_id,
            url=url,
            millesime=millesime,
            sha256=sha256,
            size=target.stat().st_size,
            fetched_at=_now(),
            path=relative.as_posix(),
            etag=validators.etag or "",
            last_modified=validators.last_modified or "",
        )
        self._append(row)
        return row, True

    def reject(self, scratch: Path, source_id: str) -> Path:
        """Keep a refused payload for diagnosis, outside the raw area proper."""
        folder = self.root / "_rejets" / source_id
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / scratch.name
        shutil.move(scratch, target)
        return target

    def _append(self, row: RawFile) -> None:
        new = not self.manifest.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        with self.manifest.open("a", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=[field.name for field in fields(RawFile)])
            if new:
                writer.writeheader()
            writer.writerow(asdict(row))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _name(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.rstrip("/").rsplit("/", 1)[-1] or "index"
    if parts.query:
        name += "-" + hashlib.sha1(parts.query.encode()).hexdigest()[:8]
    return name


def _row(record: dict[str, str]) -> RawFile:
    millesime = record.get("millesime")
    return RawFile(
        **{
            **record,
            "millesime": int(millesime) if millesime else None,
            "size": int(record["size"]),
        }
    )
