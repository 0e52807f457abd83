"""GX Data Docs: the static HTML report of a validation, written into a folder.

The site holds the latest validation only (GX rebuilds it whole). Its validation pages
are plain HTML, readable offline; its index table and styles load jQuery and Bootstrap
from public CDNs, as GX ships them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SITE = "opendata-mel"


def prepare(context, folder: Path) -> None:
    """Point the context's only Data Docs site at `folder` (emptied first)."""
    for name in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(name)  # the ephemeral context's temporary site
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    context.add_data_docs_site(
        site_name=SITE,
        site_config={
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(folder),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )


def build(context, folder: Path, results: dict) -> tuple[Path, dict[str, Path]]:
    """Build the site; returns its index and the page of each mart's validation."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context.build_data_docs(site_names=[SITE])
    pages = {}
    for mart, result in results.items():
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=mart),
            run_id=result.meta["run_id"],
            batch_identifier=result.batch_id,
        )
        pages[mart] = folder / "validations" / ("/".join(key.to_tuple()) + ".html")
    return folder / "index.html", pages
