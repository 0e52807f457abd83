"""GX Data Docs readable with no network (tasks/quality/data_docs.py): every page takes its
scripts, styles, fonts and images from the site itself, copies of the CDN files GX names
(expectations/data_docs_assets/).

The fast tests build a small site (one mart, failures, a chart: ~0.5 s after GX's import)
and read its HTML. The browser tests open, from file:// in Debian's chromium, the Data
Docs the session's complete refresh wrote (`refreshed_template`), and the small site's
chart; every request off loopback is recorded and aborted. Screenshots go to
test-artifacts/data-docs/."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import duckdb
import great_expectations
import pytest

from tasks.quality import data_docs, gate, suites
from tests.chromium import chromium_context
from tests.conftest import ROOT

ASSETS = data_docs.ASSETS
GX_VIEWS = Path(great_expectations.__file__).parent / "render" / "view"
ARTIFACTS = ROOT / "test-artifacts" / "data-docs"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# field-notes.md: the flags Debian's chromium needs here, as in tests/test_site.py.
SMALL_SUITE = [
    {
        "type": "expect_column_values_to_match_regex",
        "kwargs": {"column": "code_commune", "regex": "^\\d{5}$"},
        "meta": {"severity": "critical"},
    },
    {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "nom_commune"},
        "meta": {"severity": "critical"},
    },
    # the one kind of expectation whose validation page draws a Vega chart
    {
        "type": "expect_column_kl_divergence_to_be_less_than",
        "kwargs": {
            "column": "part_test",
            "partition_object": {"bins": [0, 50, 100, 150], "weights": [0.6, 0.2, 0.2]},
            "threshold": 0.5,
        },
        "meta": {"severity": "warning"},
    },
]


@pytest.fixture(scope="module")
def small_site(tmp_path_factory) -> gate.Validation:
    """The Data Docs of one small mart (a failed pattern, a chart), built as a refresh does.
    SYNTHETIC rows (three communes, a made-up `part_test` column and a code cut short on
    purpose): no real mart has a distribution check, the one kind of GX result drawn as a
    chart. The real Data Docs, those of the session's full refresh, are the browser tests'."""
    root = tmp_path_factory.mktemp("data-docs")
    path = root / "communes.json"
    path.write_text(json.dumps({"name": "communes", "expectations": SMALL_SUITE}), "utf-8")
    conn = duckdb.connect()
    conn.execute("create schema marts")
    conn.execute(
        "create table marts.communes as select * from (values "
        "('59522', 'Sailly-lez-Lannoy', true, 12.5), ('1001', 'Abergement', false, 140.0), "
        "('59350', 'Lille', true, 40.0)) t(code_commune, nom_commune, is_mel, part_test)"
    )
    return gate.validate(conn, [suites.load_suite(path)], docs_folder=root / "docs")


class References(HTMLParser):
    """What a page loads (`src` of any element, `href` of any but <a>, CSS url() and
    @import), and what it links to (`href` of <a>). Scripts are not read: the index's
    rows, built by a script, are checked in the browser."""

    def __init__(self, html: str):
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []
        self._style = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self._style = tag == "style"
        for name, value in attrs:
            if name == "href" and tag == "a":
                self.links.append(value)
            elif name in ("src", "href"):
                self.loads.append(value)
            elif name == "srcset":
                self.loads += [part.split()[0] for part in value.split(",") if part.strip()]
            elif name == "style":
                self.loads += css_addresses(value)

    def handle_endtag(self, tag):
        self._style = False

    def handle_data(self, data):
        if self._style:
            self.loads += css_addresses(data)


def css_addresses(css: str) -> list[str]:
    found = re.findall(r"""url\(\s*["']?([^"')]+?)["']?\s*\)""", css)
    return found + re.findall(r"""@import\s+["']([^"']+)["']""", css)


def off_loopback(url: str) -> bool:
    """An address of another machine (`//cdn…` included); file:// and data: are not."""
    parts = urlsplit(url)
    return bool(parts.netloc) and parts.scheme != "file" and parts.hostname not in LOOPBACK


def pages(site: Path) -> list[Path]:
    found = sorted(site.rglob("*.html"))
    assert len([p for p in found if "vendor" not in p.parts]) >= 3  # index, suite, validation
    return found


def manifest() -> dict:
    return tomllib.loads((ASSETS / "assets.toml").read_text(encoding="utf-8"))


def test_no_page_loads_anything_from_another_machine(small_site):
    for page in pages(small_site.docs.parent):
        refs = References(page.read_text(encoding="utf-8"))
        assert [url for url in refs.loads if off_loopback(url)] == [], page
        assert len([url for url in refs.loads if "static/vendor/" in url]) >= 15, page


def test_every_local_address_of_a_page_exists(small_site):
    """Copies at the right depth, GX's own files (its favicon, one level too shallow in a
    validation page as GX writes it) and the links between pages."""
    missing = []
    for page in pages(small_site.docs.parent):
        refs = References(page.read_text(encoding="utf-8"))
        for url in refs.loads + refs.links:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or not parts.path:  # data:, external links, #anchors
                continue
            if not (page.parent / unquote(parts.path)).exists():
                missing.append(f"{page.relative_to(small_site.docs.parent)} → {url}")
    assert missing == []


def test_the_manifest_names_every_remote_file_of_gx_templates():
    """A GX upgrade that loads a new CDN file fails here, before any page goes online."""
    copies = data_docs.local_copies()
    named = set()
    for template in [*GX_VIEWS.rglob("*.j2"), *GX_VIEWS.rglob("*.css")]:
        if template.name.startswith("markdown_"):  # Markdown renderings, not the site's pages
            continue
        text = template.read_text(encoding="utf-8")
        links = set(re.findall(r"""<a\b[^>]*?\bhref=["'](https?://[^"']+)""", text, re.S))
        named |= set(re.findall(r"""https?://[^\s"'<>(){}]+""", text)) - links
    assert len(named) >= 17
    # the logo's folder is a Jinja variable of the templates: the page adds the file name
    unknown = {u for u in named if u not in copies and not any(c.startswith(u) for c in copies)}
    assert unknown == set(), f"à vendoriser dans {ASSETS / 'assets.toml'}"


def test_the_vendored_files_are_those_gx_names_with_their_licence():
    readme = (ASSETS / "README.md").read_text(encoding="utf-8").splitlines()
    listed = set()
    for package in manifest()["package"]:
        folder = ASSETS / data_docs.package_folder(package)
        files = {package["licence_file"], *package["files"]}
        assert {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} == files
        assert package["tarball"].startswith("https://registry.npmjs.org/")
        assert any(package["name"] in line and package["version"] in line for line in readme)
        listed.add(folder.name)
    assert {p.name for p in ASSETS.iterdir() if p.is_dir()} == listed
    # where GX pins a file by its hash, the copy has that very hash
    imports = (GX_VIEWS / "templates" / "js_script_imports.j2").read_text(encoding="utf-8")
    pinned = re.findall(r'src="([^"]+)" integrity="sha384-([^"]+)"', imports)
    copies = data_docs.local_copies()
    assert len(pinned) == 2
    for url, digest in pinned:
        local = ASSETS / copies[url].removeprefix(data_docs.VENDOR + "/")
        assert base64.b64encode(hashlib.sha384(local.read_bytes()).digest()).decode() == digest


def test_the_vendored_styles_load_nothing_remote():
    for style in ASSETS.rglob("*.css"):
        css = style.read_text(encoding="utf-8")
        addresses = css_addresses(css)
        assert [url for url in addresses if not url.startswith("data:") and "//" in url] == []
        # a web font: its first source (woff2) is vendored, the fallbacks never asked for
        for first in re.findall(r"@font-face\s*\{[^}]*?src:\s*url\(([^)]+)\)", css):
            assert (style.parent / first.strip("\"'")).exists(), f"{style.name} → {first}"


def test_an_unknown_remote_file_is_left_and_reported_and_a_link_is_not():
    html = (
        '<script src="https://cdn.example.org/lib.js" integrity="sha384-x"></script>'
        '<link rel="stylesheet" href="https://code.jquery.com/jquery-3.7.1.min.js" '
        'integrity="sha384-y" crossorigin="anonymous">'
        '<a href="https://greatexpectations.io">GX</a><img src="./static/images/logo.png">'
    )
    text, left = data_docs.offline_page(html, "../../", data_docs.local_copies())
    assert left == {"https://cdn.example.org/lib.js"}
    assert '<script src="https://cdn.example.org/lib.js" integrity="sha384-x">' in text
    assert '<link rel="stylesheet" href="../../static/vendor/jquery-3.7.1/dist/jquery' in text
    assert "sha384-y" not in text and "crossorigin" not in text
    assert '<a href="https://greatexpectations.io">' in text
    assert '<img src="../../static/images/logo.png">' in text


# --- in the browser ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium_context(tmp_path_factory.mktemp("profil-chromium"), width=1280) as context:
        yield context


@dataclass
class Visit:
    page: object
    off_loopback: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def visit(browser, path: Path, color_scheme: str = "light") -> Visit:
    """The page opened from file://, every request to another machine aborted and kept."""
    page = browser.new_page()
    seen = Visit(page)

    def route(route):
        if off_loopback(route.request.url):
            route.abort()  # recorded by the listener below, as every request is
        else:
            route.continue_()

    page.route("**/*", route)
    page.on("request", lambda r: seen.off_loopback.append(r.url) if off_loopback(r.url) else None)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("requestfailed", lambda request: seen.errors.append(f"échec : {request.url}"))
    page.emulate_media(color_scheme=color_scheme)
    page.goto(path.as_uri(), wait_until="networkidle")
    return seen


STYLES = """async () => {
    await document.fonts.ready;
    const body = getComputedStyle(document.body);
    const icon = document.querySelector('i.fas');
    return {
        margin: body.margin,
        font: body.fontFamily,
        tables: document.querySelectorAll('.bootstrap-table').length,
        icon: icon && getComputedStyle(icon, '::before').fontFamily,
        fonts: [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family),
        logo: getComputedStyle(document.querySelector('.navbar-brand a')).backgroundImage,
    };
}"""


def assert_styled(page) -> dict:
    """Bootstrap's reboot (no body margin, its font stack: the browser's default is 8 px,
    Times), bootstrap-table's wrapper, Font Awesome's icons in its own font."""
    styles = page.evaluate(STYLES)
    assert styles["margin"] == "0px" and styles["font"].startswith("-apple-system")
    assert styles["tables"] >= 1
    assert "Font Awesome 6 Free" in styles["icon"] and "Font Awesome 6 Free" in styles["fonts"]
    return styles


def visible_rows(page) -> list[dict]:
    """The rows of the shown table of the index: each cell's text under its header."""
    return page.evaluate(
        """() => {
        const table = [...document.querySelectorAll('table[data-toggle="table"]')]
            .find(t => t.offsetParent !== null);
        const heads = [...table.querySelectorAll('thead th .th-inner')]
            .map(th => th.innerText.trim());
        return [...table.querySelectorAll('tbody tr')].map(tr => Object.fromEntries(
            [...tr.cells].map((td, i) => [heads[i], td.innerText.trim()])));
    }"""
    )


@pytest.fixture(scope="module")
def refresh_docs(refreshed_template):
    """(marts validated, index) of the Data Docs the session's complete refresh wrote."""
    summary, _ = refreshed_template
    return {o.mart for o in summary.outcomes}, summary.docs


def test_the_index_shows_its_table_and_styles_with_no_network(browser, refresh_docs):
    marts, index = refresh_docs
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen = visit(browser, index)
    page = seen.page
    page.wait_for_selector(".bootstrap-table tbody tr")
    assert seen.off_loopback == [] and seen.errors == []
    rows = visible_rows(page)
    assert {row["Asset Name"] for row in rows} == marts and len(rows) == len(marts)
    assert page.get_by_role("link", name="communes", exact=True).first.is_visible()
    assert_styled(page)
    # every row's links (built by bootstrap-table from the page's data) lead to a file
    targets = page.eval_on_selector_all(".bootstrap-table tbody a[href]", "a => a.map(x => x.href)")
    assert targets and all(Path(unquote(urlsplit(t).path)).exists() for t in targets)
    page.screenshot(path=str(ARTIFACTS / "index.png"), full_page=True)
    page.close()

    dark = visit(browser, index, color_scheme="dark")  # its logo is another image
    dark.page.wait_for_selector(".bootstrap-table tbody tr")
    assert dark.off_loopback == [] and dark.errors == []
    assert assert_styled(dark.page)["logo"].startswith('url("file://')
    dark.page.screenshot(path=str(ARTIFACTS / "index-sombre.png"))
    dark.page.close()


def test_a_validation_page_shows_its_results_styled_with_no_network(browser, refresh_docs):
    _, index = refresh_docs
    [path] = (index.parent / "validations" / "communes").rglob("*.html")
    seen = visit(browser, path)
    page = seen.page
    assert seen.off_loopback == [] and seen.errors == []
    assert page.get_by_role("heading", name="Expectation Validation Result").is_visible()
    assert page.get_by_text("[bloquante] chaque valeur de code_commune est unique").is_visible()
    assert_styled(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "validation-communes.png"))
    page.close()


def test_a_chart_of_a_validation_page_is_drawn_with_no_network(browser, small_site):
    seen = visit(browser, small_site.docs_pages["communes"])
    page = seen.page
    assert seen.off_loopback == [] and seen.errors == []
    chart = page.locator(".vega-embed").first
    chart.scroll_into_view_if_needed()
    assert chart.locator("canvas, svg").count() >= 1 and chart.bounding_box()["height"] > 100
    assert_styled(page)
    page.close()
