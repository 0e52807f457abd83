"""GX Data Docs: the static HTML report of a validation, written into a folder.

The site holds the latest validation only (GX rebuilds it whole). It is readable with no
network: GX's pages load jQuery, Bootstrap, bootstrap-table, Font Awesome and Vega from
public CDNs and its logo from Amazon S3, so `build` copies the vendored files of
expectations/data_docs_assets/ (versions, sources and licences: its README) into the site
as static/vendor/ and points every page at them, and at the logo GX already copies into
static/images/. A CDN address that GX starts to use and the manifest does not know stays
as it is, with a warning (tests/test_data_docs.py fails on it first).
"""

from __future__ import annotations

import logging
import re
import shutil
import tomllib
from pathlib import Path

from tasks.quality.suites import EXPECTATIONS_DIR

SITE = "opendata-mel"
ASSETS = EXPECTATIONS_DIR / "data_docs_assets"
VENDOR = "static/vendor"

_TAG = re.compile(r"<(?P<name>[a-zA-Z][\w-]*)\b[^>]*>")
_ADDRESS = re.compile(r"""(?P<lead>\b(?:src|href)=["'])(?P<url>[^"']*)""")
_CSS_URL = re.compile(r"""(?P<lead>url\(\s*["']?)(?P<url>https?://[^"')\s]+)""")
# GX's own static folder, at a depth GX gets wrong in validation pages (one level short).
_STATIC = re.compile(r"^(?:\./|(?:\.\./)*)static/")
# Subresource integrity needs a CORS fetch, which a page opened from file:// cannot make.
_INTEGRITY = re.compile(r"""\s+(?:integrity|crossorigin)=(?:"[^"]*"|'[^']*')""")

log = logging.getLogger(__name__)


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
    """Build the site, readable offline; returns its index and each mart's validation page."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context.build_data_docs(site_names=[SITE])
    left = make_offline(folder)
    if left:
        log.warning(
            "Data Docs : %d adresse(s) externe(s) sans copie locale (à ajouter à %s) : %s",
            len(left),
            ASSETS / "assets.toml",
            ", ".join(sorted(left)),
        )
    pages = {}
    for mart, result in results.items():
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=mart),
            run_id=result.meta["run_id"],
            batch_identifier=result.batch_id,
        )
        pages[mart] = folder / "validations" / ("/".join(key.to_tuple()) + ".html")
    return folder / "index.html", pages


def local_copies(assets: Path = ASSETS) -> dict[str, str]:
    """{CDN or S3 address: the path of its copy in the site}, from the assets manifest."""
    manifest = tomllib.loads((assets / "assets.toml").read_text(encoding="utf-8"))
    copies = {}
    for package in manifest["package"]:
        folder = f"{VENDOR}/{package_folder(package)}"
        for file, urls in package["files"].items():
            copies |= dict.fromkeys(urls, f"{folder}/{file}")
    for url, image in manifest["gx_images"].items():
        copies[url] = f"static/images/{image}"
    return copies


def package_folder(package: dict) -> str:
    """The folder of a vendored package: `bootstrap-dark-1.1.0` for @forevolve/bootstrap-dark."""
    return f"{package['name'].rsplit('/', 1)[-1]}-{package['version']}"


def make_offline(folder: Path, assets: Path = ASSETS) -> set[str]:
    """Copy the vendored files into the site and point its pages at them; returns the
    remote addresses still loaded (none, as long as the manifest covers GX)."""
    copies = local_copies(assets)
    shutil.copytree(assets, folder / VENDOR, dirs_exist_ok=True)
    left = set()
    for page in folder.rglob("*.html"):
        depth = len(page.relative_to(folder).parts) - 1
        text, remote = offline_page(page.read_text(encoding="utf-8"), "../" * depth, copies)
        page.write_text(text, encoding="utf-8")
        left |= remote
    return left


def offline_page(html: str, to_root: str, copies: dict[str, str]) -> tuple[str, set[str]]:
    """The page with its known remote files replaced by their copies (`to_root`: the
    relative path from the page to the site's root), and the remote ones it still loads."""
    left = set()

    def local(url: str, loads: bool) -> str:
        if url.startswith(("http://", "https://")):
            copy = copies.get(url.split("?", 1)[0])  # GX adds a cache-busting query to its logo
            if copy is not None:
                return to_root + copy
            if loads:
                left.add(url)
            return url
        return _STATIC.sub(to_root + "static/", url)

    def tag(match: re.Match) -> str:
        loads = match["name"].lower() != "a"  # a link loads nothing until it is followed
        text = _ADDRESS.sub(lambda m: m["lead"] + local(m["url"], loads), match[0])
        if re.search(r"""\b(?:src|href)=["']https?:""", text):
            return text
        return _INTEGRITY.sub("", text)

    html = _TAG.sub(tag, html)
    return _CSS_URL.sub(lambda m: m["lead"] + local(m["url"], True), html), left
