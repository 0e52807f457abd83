"""Import a file the data officer has on disk (a past millésime no longer online).

The file is checked like a download (format, millésime read in its header, declared
columns) and kept in the raw area with its sha256, under the address `import:<name>`.
Every later refresh of the source loads it beside what it downloads.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tasks.core.errors import ConfigurationError, InvalidData, LayoutChanged
from tasks.sources.client import Validators
from tasks.sources.discovery import Discovered
from tasks.sources.formats import check_payload, read_header
from tasks.sources.raw_store import RawFile, RawStore
from tasks.sources.registry import Source

IMPORTED = "importé (fichier déposé par l'agent)"
PREFIX = "import:"


def import_file(store: RawStore, source: Source, path: Path, millesime: int) -> RawFile:
    """Check `path` as a file of `source` for `millesime` and keep it in the raw area."""
    where = f"{path} (source {source.id})"
    if not path.is_file():
        raise ConfigurationError(
            f"fichier introuvable : {path}",
            where=where,
            action="donnez le chemin du fichier tel que l'INSEE l'a publié (zip compris)",
        )
    if source.millesime.kind not in {"recensement", "fiscal"}:
        raise ConfigurationError(
            f"la source {source.id} ne s'importe pas : seuls les fichiers d'un millésime "
            "du recensement (comparateur, base-cc, Filosofi) s'importent",
            where=where,
            action="les autres sources se téléchargent : relancez opendata-mel refresh",
        )
    url = PREFIX + path.name
    check_payload(path, source, url)
    header = read_header(path, source)
    found = source.detect_millesime(header)
    if found is not None and found != millesime:
        raise InvalidData(
            f"le fichier contient le millésime {found}, pas le millésime {millesime} annoncé",
            where=where,
            action=f"relancez avec --millesime {found}, ou vérifiez le fichier",
        )
    missing = [name for name in source.expected_columns(millesime) if name not in header]
    if missing:
        raise LayoutChanged(
            f"colonne(s) attendue(s) absente(s) pour le millésime {millesime} : "
            f"{', '.join(missing)}",
            where=where,
            action="vérifiez que le fichier est celui de l'INSEE, non modifié ; si l'édition "
            "a d'autres noms de colonnes, décrivez-les (`avant`, `depuis`, `jusqu_a`) dans "
            "warehouse/sources.yaml",
        )
    scratch = store.scratch(source.id)
    shutil.copyfile(path, scratch)
    raw, _ = store.keep(
        scratch, source_id=source.id, url=url, millesime=millesime, validators=Validators()
    )
    return raw


def imported(store: RawStore, source: Source, skip: set[int]) -> list[RawFile]:
    """The newest imported file of each millésime of `source`, except those in `skip`."""
    newest: dict[int, RawFile] = {}
    for row in store.rows():
        mine = row.source_id == source.id and row.url.startswith(PREFIX)
        if mine and row.millesime not in skip and store.file(row).exists():
            newest[row.millesime] = row
    return [newest[year] for year in sorted(newest)]


def discovered(raw: RawFile) -> Discovered:
    return Discovered(raw.source_id, raw.millesime, raw.url, "fichier importé (raw)")
