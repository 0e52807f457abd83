"""The files a publication writes (the fiches' ids, the plan, the files it sends) are
replaced whole: a run killed while writing one (kill -9, a power cut) leaves the previous
version, never half a file, and the next run finds it as it was."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def partial_path(path: Path) -> Path:
    """Where `path` is written before it replaces the old one: beside it (a rename stays
    on one disk), hidden, and with a suffix no reader globs (`*.yaml`, `*.csv`)."""
    return path.with_name(f".{path.name}.partiel")


@contextmanager
def replacing(path: Path, *, durable: bool = False) -> Iterator[Path]:
    """A path to write the new content to; it replaces `path` in one rename once the
    block ends, and is removed if the block fails. `durable`: on disk before the rename
    (for a file an operator keeps, such as a fiche), not only in the system's cache."""
    partial = partial_path(path)
    try:
        yield partial
        if durable:
            with partial.open("rb") as written:
                os.fsync(written.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str, *, durable: bool = False) -> None:
    with replacing(path, durable=durable) as partial:
        partial.write_text(text, encoding="utf-8")
