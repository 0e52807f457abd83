"""The citizen site (`opendata-mel site`), built from the warehouse of `make demo` and
`make subventions-demo`, then read in a real browser: Debian's chromium driven by
Playwright, the pages served on 127.0.0.1. Screenshots go to test-artifacts/site/."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from flows.cli import main
from tasks.core.text import french_date, french_decimal
from tests.chromium import chromium_context
from tests.conftest import ROOT, SAMPLES
from tests.mirror_server import MirrorServer

pytestmark = pytest.mark.usefixtures("prefect_api")

RECORDED = ROOT / "tests" / "fixtures" / "recherche-entreprises"
SUBVENTIONS = ROOT / "samples" / "subventions" / "59522"
ARTIFACTS = ROOT / "test-artifacts" / "site"
BANNER = "Démonstration : les subventions affichées sont FICTIVES."
# field-notes.md: the flags Debian's chromium needs here (the profile is a new temp dir).
PAGES = ["index", "population", "familles", "logement", "subventions"]
NNBSP = "\u202f"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Path]:
    """(warehouse, site folder of 59522): the demo refresh on the bundled mirror, the
    sample subsidies (FICTITIOUS) with the officer's answers, then the site."""
    root = tmp_path_factory.mktemp("site-demo")
    warehouse = root / "entrepot" / "opendata.duckdb"
    answers = root / "subventions"
    shutil.copytree(SUBVENTIONS / "reponses", answers)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OPENDATA_WAREHOUSE", str(warehouse))
        env.setenv("OPENDATA_DATA_DIR", str(root / "data"))
        with MirrorServer(SAMPLES) as server:
            env.setenv("OPENDATA_MIRROR", server.url)
            assert main(["refresh", "--sources", demo_sources()]) == 0
        with MirrorServer(RECORDED) as server:
            env.setenv("OPENDATA_MIRROR", server.url)
            build = ["subventions", "build", "--input", str(SUBVENTIONS / "documents")]
            assert main([*build, "--out", str(answers)]) == 0
        assert main(["site", "--out", str(root / "site"), "--bandeau", BANNER]) == 0
    return warehouse, root / "site" / "59522"


def demo_sources() -> str:
    """The sources `make demo` refreshes, as its Makefile lists them."""
    return re.search(r"^DEMO_SOURCES := (\S+)$", (ROOT / "Makefile").read_text(), re.M)[1]


@pytest.fixture(scope="module")
def served(demo):
    with MirrorServer(demo[1]) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium_context(tmp_path_factory.mktemp("profil-chromium"), width=1100) as context:
        yield context


@dataclass
class Visit:
    page: object
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def visit(browser, url: str) -> Visit:
    page = browser.new_page()
    seen = Visit(page)
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("requestfailed", lambda request: seen.errors.append(f"échec : {request.url}"))
    page.goto(url, wait_until="networkidle")
    return seen


def table(page, chart_id: str) -> dict[tuple[str, str], dict]:
    """{(catégorie, territoire): {text, valeur, absence}} of a chart's HTML table."""
    return {
        (cell["categorie"], cell["territoire"]): cell
        for cell in page.eval_on_selector_all(
            f'table[data-graphique="{chart_id}"] tbody td',
            """cells => cells.map(td => ({
                categorie: td.parentElement.querySelector('th').textContent.trim(),
                territoire: td.dataset.territoire,
                text: td.textContent.trim(),
                valeur: td.dataset.valeur === undefined ? null : Number(td.dataset.valeur),
                absence: td.dataset.absence || null,
            }))""",
        )
    }


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_pages_load_offline_and_every_chart_renders_with_its_title(demo, served, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    charts = {}
    for name in PAGES:
        seen = visit(browser, f"{served}/{name}.html")
        page = seen.page
        assert seen.errors == [], name
        assert seen.requests and all(u.startswith(served + "/") for u in seen.requests), (
            seen.requests
        )
        nav = page.eval_on_selector_all("nav a", "links => links.map(a => a.textContent)")
        assert nav == [
            "Accueil",
            "Population",
            "Familles et ménages",
            "Logement",
            "Subventions aux associations",
        ]
        assert page.text_content(".bandeau") == BANNER
        for figure in page.query_selector_all("section.graphique"):
            chart_id = figure.get_attribute("id")
            heading = figure.query_selector("h2").text_content()
            svg = figure.query_selector("figure svg[role=img]")
            assert svg is not None, chart_id
            assert svg.query_selector("title").text_content() == heading
            assert svg.query_selector("desc").text_content().startswith(heading)
            assert figure.query_selector("svg .mark-rect, svg .mark-line"), chart_id
            assert figure.query_selector("figcaption").text_content().startswith("Source : ")
            link = figure.query_selector('a[download][href^="donnees/"]')
            assert link is not None and link.get_attribute("href") == f"donnees/{chart_id}.csv"
            charts[chart_id] = name
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        page.close()
    # What the demo warehouse holds (comparateur + sample subsidies) is drawn; the
    # base-cc and historical series charts wait for their sources.
    assert charts == {
        "population_evolution": "population",
        "population_naissances_deces": "population",
        "familles_revenus": "familles",
        "logement_categories": "logement",
        "logement_statut": "logement",
        "subventions_annees": "subventions",
        "subventions_associations": "subventions",
    }


def test_tables_and_csv_hold_the_warehouse_values(demo, served, browser):
    warehouse, _ = demo
    seen = visit(browser, f"{served}/population.html")
    [(population, before)] = query(
        warehouse,
        "select population, population_6_ans_avant from marts.population "
        "where code_commune = '59522'",
    )
    cells = table(seen.page, "population_evolution")
    assert cells[("2022", "Sailly-lez-Lannoy")]["valeur"] == population == 1936
    assert cells[("2022", "Sailly-lez-Lannoy")]["text"] == f"1{NNBSP}936"
    assert cells[("2016", "Sailly-lez-Lannoy")]["valeur"] == before

    seen = visit(browser, f"{served}/logement.html")
    [(rp, rs, lv, mel_rp, mel_lv)] = query(
        warehouse,
        """select
            max(part_residences_principales) filter (where code_commune = '59522'),
            max(part_residences_secondaires) filter (where code_commune = '59522'),
            max(part_logements_vacants) filter (where code_commune = '59522'),
            round(100 * sum(residences_principales) filter (where is_mel)
                / sum(logements) filter (where is_mel), 1),
            round(100 * sum(logements_vacants) filter (where is_mel)
                / sum(logements) filter (where is_mel), 1)
        from marts.logement
        where millesime = (select max(millesime) from marts.logement
            where code_commune = '59522' and residences_principales is not null)""",
    )
    cells = table(seen.page, "logement_categories")
    assert cells[("Résidences principales", "Sailly-lez-Lannoy")]["valeur"] == rp
    assert cells[("Résidences secondaires", "Sailly-lez-Lannoy")]["valeur"] == rs
    assert cells[("Logements vacants", "Sailly-lez-Lannoy")]["text"] == (
        f"{french_decimal(lv, 1)}{NNBSP}%"
    )
    assert cells[("Résidences principales", "Ensemble de la MEL")]["valeur"] == mel_rp
    assert cells[("Logements vacants", "Ensemble de la MEL")]["valeur"] == mel_lv
    answer = seen.page.request.get(f"{served}/donnees/logement_categories.csv")
    assert answer.body().startswith("\ufeff".encode())  # accents right in a French spreadsheet
    rows = list(csv.DictReader(io.StringIO(answer.body().decode("utf-8-sig"))))
    assert {(r["categorie"], r["territoire"]): float(r["valeur"]) for r in rows} == {
        key: cell["valeur"] for key, cell in cells.items()
    }
    assert {r["millesime"] for r in rows} == {"2022"}

    seen = visit(browser, f"{served}/subventions.html")
    totals = dict(
        query(
            warehouse,
            "select cast(annee as varchar), sum(montant) from marts.subventions "
            "where code_commune = '59522' group by 1",
        )
    )
    cells = table(seen.page, "subventions_annees")
    assert {year: cell["valeur"] for (year, _), cell in cells.items()} == {
        year: float(total) for year, total in totals.items()
    }
    assert cells[("2021", "Sailly-lez-Lannoy")]["text"] == f"10{NNBSP}750,00"


def test_a_masked_value_is_explained_and_never_drawn(demo, served, browser):
    warehouse, _ = demo
    [(reason,)] = query(
        warehouse,
        "select raison_absence from marts.comparateur "
        "where code_commune = '59522' and variable = 'taux_pauvrete'",
    )
    assert reason == "secret statistique"
    page = visit(browser, f"{served}/familles.html").page
    cells = table(page, "familles_revenus")
    masked = cells[("Personnes sous le seuil de pauvreté", "Sailly-lez-Lannoy")]
    assert masked["valeur"] is None and masked["absence"] == masked["text"] == reason
    assert "trop peu de personnes ou de ménages" in page.text_content("#secret-statistique")
    # One bar per value that exists: the masked one is not a zero-length bar.
    bars = page.eval_on_selector_all(
        "#familles_revenus svg .mark-rect path",
        "paths => paths.map(p => p.getAttribute('aria-label'))",
    )
    present = [cell for cell in cells.values() if cell["valeur"] is not None]
    assert len(bars) == len(present) == 1
    assert not [b for b in bars if "pauvreté" in b and "Sailly" in b]
    drawn_text = page.eval_on_selector_all(
        "#familles_revenus svg text", "texts => texts.map(t => t.textContent)"
    )
    assert reason in drawn_text


def test_the_page_says_when_and_from_which_millesimes(demo, served, browser):
    page = visit(browser, f"{served}/logement.html").page
    footer = page.text_content("footer")
    generated = dt.datetime.fromisoformat(page.get_attribute("footer time", "datetime"))
    assert dt.timedelta(0) <= dt.datetime.now(dt.UTC) - generated < dt.timedelta(hours=1)
    assert generated.utcoffset() == ZoneInfo("Europe/Paris").utcoffset(
        generated.replace(tzinfo=None)
    )
    assert f"Page générée le {french_date(generated)}" in footer
    assert "INSEE, recensement 2022" in footer and "Code officiel géographique 2026" in footer
    caption = page.text_content("#logement_categories figcaption")
    assert caption == "Source : INSEE, recensement 2022."
    assert "millésime 2022" in page.text_content("#logement_categories .unite")
    waiting = page.eval_on_selector_all(".a-venir li", "items => items.map(i => i.textContent)")
    assert "Maisons et appartements" in waiting


def test_keyboard_contrast_and_phone(demo, served, browser):
    page = visit(browser, f"{served}/familles.html").page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"
    regions = page.eval_on_selector_all(
        ".tableau", "divs => divs.map(d => [d.tabIndex, d.getAttribute('role')])"
    )
    assert regions and all(region == [0, "region"] for region in regions)
    for selector in ("body", "nav a", ".unite", "figcaption", "td.absent", ".secret", "footer"):
        colour, background = page.eval_on_selector(
            selector,
            """e => {
                let b = e, bg = 'rgba(0, 0, 0, 0)';
                while (b && (bg = getComputedStyle(b).backgroundColor) === 'rgba(0, 0, 0, 0)')
                    b = b.parentElement;
                return [getComputedStyle(e).color, b ? bg : 'rgb(255, 255, 255)'];
            }""",
        )
        assert contrast(colour, background) >= 4.5, (selector, colour, background)

    phone = browser.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    for name in PAGES:
        phone.goto(f"{served}/{name}.html", wait_until="networkidle")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, name
        phone.screenshot(path=str(ARTIFACTS / f"{name}-telephone.png"), full_page=True)


def contrast(foreground: str, background: str) -> float:
    def luminance(css: str) -> float:
        channels = [int(v) / 255 for v in re.findall(r"\d+", css)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_with_every_census_source_every_chart_is_drawn(full_run, tmp_path, monkeypatch, browser):
    """The full refresh (SYNTHETIC census files in the real layouts) feeds every census
    chart, the historical series included; without subsidies there is no such tab."""
    from tasks.citizen_site.registry import load_sections

    monkeypatch.setenv("OPENDATA_WAREHOUSE", str(full_run[1]))
    assert main(["site", "--out", str(tmp_path)]) == 0
    site = tmp_path / "59522"
    assert not (site / "subventions.html").exists()
    expected = {c.id for s in load_sections() if s.id != "subventions" for c in s.charts}
    with MirrorServer(site) as server:
        drawn = set()
        for name in ("population", "familles", "logement"):
            seen = visit(browser, f"{server.url}/{name}.html")
            assert seen.errors == [] and seen.page.query_selector(".a-venir") is None
            drawn |= set(
                seen.page.eval_on_selector_all("section.graphique", "s => s.map(e => e.id)")
            )
            if name == "population":
                cells = table(seen.page, "population_ages")
            if name == "logement":
                history = table(seen.page, "logement_vacants_historique")
                statut = table(seen.page, "logement_statut")
                notice = seen.page.text_content("#secret-statistique")
    assert drawn == expected
    [(young, total)] = query(
        full_run[1],
        "select pop_0_14, population from marts.population "
        "where code_commune = '59522' and pop_0_14 is not null",
    )
    assert cells[("Moins de 15 ans", "Sailly-lez-Lannoy")]["valeur"] == round(
        100 * young / total, 1
    )
    vacancy = dict(
        query(
            full_run[1],
            "select cast(annee as varchar), part_logements_vacants from marts.serie_historique "
            "where code_commune = '59522'",
        )
    )
    commune = {year: c["valeur"] for (year, t), c in history.items() if t == "Sailly-lez-Lannoy"}
    assert commune == vacancy and "1968" in commune
    # A commune under statistical secrecy: said for it, and no false MEL total either.
    [(reason, missing)] = query(
        full_run[1],
        "select max(raisons_absence) filter (where code_commune = '59522'), "
        "count(*) filter (where is_mel and rp_hlm is null) from marts.logement "
        "where millesime = 2022",
    )
    assert "rp_hlm : secret statistique" in reason and missing >= 1
    assert statut[("dont locataires d'un HLM", "Sailly-lez-Lannoy")]["absence"] == (
        "secret statistique"
    )
    assert statut[("dont locataires d'un HLM", "Ensemble de la MEL")]["absence"] == (
        f"non calculable : {missing} commune(s) sans ce chiffre"
    )
    assert "trop peu de personnes ou de ménages" in notice


def test_all_mel_writes_every_commune_and_their_list(demo, tmp_path, monkeypatch):
    warehouse, _ = demo
    monkeypatch.setenv("OPENDATA_WAREHOUSE", str(warehouse))
    assert main(["site", "--all-mel", "--out", str(tmp_path)]) == 0
    codes = {
        code for (code,) in query(warehouse, "select code_commune from marts.communes where is_mel")
    }
    assert {p.name for p in tmp_path.iterdir() if p.is_dir()} == codes
    assert all((tmp_path / code / "logement.html").is_file() for code in codes)
    listing = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r'href="(\d{5})/index.html"', listing)) == sorted(codes)
    # only Sailly-lez-Lannoy has published subsidies
    assert [c for c in codes if (tmp_path / c / "subventions.html").exists()] == ["59522"]


def test_a_commune_outside_the_mel_or_no_warehouse_says_what_to_do(
    demo, tmp_path, monkeypatch, capsys
):
    warehouse, site = demo
    before = (site / "index.html").read_text(encoding="utf-8")
    monkeypatch.setenv("OPENDATA_WAREHOUSE", str(warehouse))
    assert main(["site", "--commune", "75056", "--out", str(site.parent)]) == 1
    error = capsys.readouterr().err
    assert "La commune 75056 n'est pas une commune actuelle de la MEL" in error
    assert "Que faire : donnez le code INSEE" in error
    assert (site / "index.html").read_text(encoding="utf-8") == before

    monkeypatch.setenv("OPENDATA_WAREHOUSE", str(tmp_path / "absent.duckdb"))
    assert main(["site", "--out", str(tmp_path / "site")]) == 1
    error = capsys.readouterr().err
    assert "Entrepôt introuvable" in error and "make demo" in error
    assert not (tmp_path / "site").exists()


def test_each_chart_links_to_its_published_dataset(demo, tmp_path, monkeypatch):
    """Once the fiche holds a data.gouv.fr id, the chart links to that dataset."""
    warehouse, _ = demo
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", catalog)
    fiche = catalog / "fiches" / "comparateur.yaml"
    text = fiche.read_text(encoding="utf-8")
    published = re.sub(
        r"('59522':\n    demo: null\n    prod:) null", r"\1 5f3e0000c0ffee0000000001", text
    )
    assert published != text
    fiche.write_text(published, encoding="utf-8")
    monkeypatch.setenv("OPENDATA_CATALOG", str(catalog))
    monkeypatch.setenv("OPENDATA_WAREHOUSE", str(warehouse))
    assert main(["site", "--out", str(tmp_path / "site")]) == 0
    page = (tmp_path / "site" / "59522" / "logement.html").read_text(encoding="utf-8")
    url = "https://www.data.gouv.fr/datasets/5f3e0000c0ffee0000000001/"
    assert page.count(f'<a href="{url}">') == 2  # logement_categories, logement_statut
    subsidies = (tmp_path / "site" / "59522" / "subventions.html").read_text(encoding="utf-8")
    assert "n'est pas encore publié sur data.gouv.fr" in subsidies and url not in subsidies


def test_the_charts_are_the_specifications_and_svg_altair_would_give(full_run):
    """The specifications written as data are Altair's, byte for byte once rendered
    (tests/reference_charts.py keeps the Altair version): every chart of the full
    warehouse, every chart type, for three communes."""
    from tasks.citizen_site import charts
    from tasks.citizen_site.data import find_commune, open_warehouse, read_charts
    from tasks.citizen_site.registry import load_sections
    from tests import reference_charts

    compared = []
    with open_warehouse(full_run[1]) as conn:
        communes = [find_commune(conn, code) for code in ("59522", "59009", "59350")]
        for chart in (c for s in load_sections() for c in s.charts):
            for data in read_charts(conn, chart, communes).values():
                if not data.has_data:
                    continue
                spec = charts.chart_spec(data)
                assert spec["config"].pop("locale")["number"]["decimal"] == ","
                assert spec == reference_charts.build_chart(data).to_dict(), chart.id
                assert charts.render_svg(data) == reference_charts.render_svg(data), chart.id
                compared.append(chart.type)
    assert set(compared) == {"barres", "colonnes", "courbe"}
    assert len(compared) >= 3 * 15


def _pages(folder: Path) -> dict[str, bytes]:
    """Every file of a site, the generation time blanked (two builds a minute apart)."""
    stamp = re.compile(rb'<time datetime="[^"]+">')
    return {
        str(path.relative_to(folder)): stamp.sub(b"<time>", path.read_bytes())
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_site_built_on_a_dask_cluster_is_the_site_of_the_default_runner(
    demo, tmp_path, monkeypatch
):
    """12 communes in batches of 3: on a Dask cluster of 2 worker processes on loopback
    (its address given as an operator would), then on Prefect's default runner."""
    from distributed import LocalCluster, get_task_stream

    from flows.citizen_site import citizen_site

    warehouse, _ = demo
    monkeypatch.setenv("OPENDATA_WAREHOUSE", str(warehouse))
    codes = [
        code
        for (code,) in query(
            warehouse,
            "select code_commune from marts.communes where is_mel "
            "and type_commune = 'commune-actuelle' order by code_commune limit 12",
        )
    ]
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        cluster.get_client() as client,
        get_task_stream(client) as stream,
    ):
        on_dask = citizen_site(
            communes=codes,
            out_dir=str(tmp_path / "dask"),
            dask=cluster.scheduler_address,
            communes_par_tache=3,
        )
    workers = {task["worker"] for task in stream.data if task["key"].startswith("build_sites")}
    assert len(workers) == 2  # both worker processes built pages
    default = citizen_site(communes=codes, out_dir=str(tmp_path / "defaut"), communes_par_tache=3)
    assert [site.code for site in on_dask.sites] == [site.code for site in default.sites] == codes
    pages = _pages(tmp_path / "dask")
    assert len([name for name in pages if name.endswith("logement.html")]) == 12
    assert pages == _pages(tmp_path / "defaut")


def test_an_unreachable_dask_cluster_says_what_to_do(demo, monkeypatch, capsys, tmp_path):
    import dask

    monkeypatch.setenv("OPENDATA_WAREHOUSE", str(demo[0]))
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        assert main(["site", "--out", str(tmp_path), "--dask", "tcp://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert "cluster Dask injoignable" in err and "OPENDATA_DASK" in err
    assert not any(tmp_path.iterdir())  # nothing written
