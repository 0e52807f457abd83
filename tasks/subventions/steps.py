"""The Prefect tasks of the subsidies flow: thin wrappers around tasks/subventions/."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from prefect.artifacts import create_markdown_artifact

from tasks.core.errors import InvalidData, SourceUnavailable
from tasks.core.settings import Settings
from tasks.core.steps import step
from tasks.core.warehouse import connect
from tasks.publication.catalog import load_catalog
from tasks.quality.gate import Validation
from tasks.quality.schema.validate import validate
from tasks.quality.steps import validate_marts
from tasks.subventions import beneficiaries, decisions, identifiers, loading, regroupings, scdl
from tasks.subventions.config import CommuneSubventions, SubventionsConfig
from tasks.subventions.extraction import apply_answers, decisions_found, read_document
from tasks.subventions.model import Issue, Place, Reading
from tasks.subventions.report import Build
from tasks.transform import models

READABLE = {".docx", ".odt", ".xlsx", ".csv"}
CONVERTIBLE = {".doc", ".rtf", ".xls", ".ods", ".pdf"}
IDENTIFIERS, DECISIONS, REPORT = "identifiants.csv", "decisions.csv", "rapport.md"
UNFIT = "NON-PUBLIABLE_"


@step("lire-documents")
def read_documents(
    folder: Path, out: Path
) -> tuple[list[Path], list[Reading], list[Issue], list[Issue]]:
    """Every readable document of the folder, with the officer's answers applied."""
    if not folder.is_dir():
        raise InvalidData(
            "dossier des documents introuvable",
            where=str(folder),
            action="indiquez avec --input le dossier qui contient les délibérations "
            "(.docx, .odt, .xlsx, .csv)",
        )
    paths, issues, notes = _documents(folder)
    answers = decisions.read_answers(out / DECISIONS)
    raw = [read_document(path) for path in paths]
    found = decisions.tables(raw, {k: d for r in raw for k, d in decisions_found(r).items()})
    applied, answer_issues = decisions.match(answers, found)
    decisions.write(out / DECISIONS, found, answers)
    readings = [apply_answers(reading, applied) for reading in raw]
    return paths, readings, issues + answer_issues, notes


def _documents(folder: Path) -> tuple[list[Path], list[Issue], list[Issue]]:
    """The documents to read; what cannot be read blocks (a year could be missing),
    except a copy beside its readable version, and files that are no documents."""
    files = [
        path
        for path in sorted(folder.iterdir())
        # hidden files, and the lock files Word and LibreOffice leave
        if path.is_file() and not path.name.startswith((".", "~$"))
    ]
    paths = [path for path in files if path.suffix.lower() in READABLE]
    readable_stems = {path.stem.casefold() for path in paths}
    issues, notes = [], []
    for path in files:
        suffix = path.suffix.lower()
        if suffix in READABLE:
            continue
        if suffix in CONVERTIBLE and path.stem.casefold() in readable_stems:
            notes.append(
                Issue("non lu : sa version lisible, du même nom, a été lue", Place(path.name))
            )
        elif suffix in CONVERTIBLE:
            issues.append(
                Issue(
                    f"document non lu (format {suffix})",
                    Place(path.name),
                    "enregistrez-le en .docx, .odt ou .xlsx sous le même nom, dans le même "
                    "dossier (LibreOffice : `libreoffice --headless --convert-to docx "
                    "fichier`), ou retirez-le du dossier s'il n'est qu'une copie d'un document lu",
                )
            )
        else:
            notes.append(
                Issue(
                    f"fichier ignoré (format {suffix or 'sans extension'} : ni .docx, .odt, "
                    ".xlsx ni .csv)",
                    Place(path.name),
                    "s'il contient des subventions, enregistrez-le dans l'un de ces formats",
                )
            )
    if not paths:
        raise InvalidData(
            "aucun document lisible (.docx, .odt, .xlsx, .csv) dans le dossier",
            where=str(folder),
            action="copiez-y les délibérations d'attribution des subventions",
        )
    return paths, issues, notes


@step("regrouper-beneficiaires")
def group_beneficiaries(readings: list[Reading]) -> list[beneficiaries.Group]:
    return beneficiaries.group(
        (line.beneficiaire, line.decision.annee) for r in readings for line in r.lines
    )


@dataclass
class Identification:
    found: list[identifiers.Identified]
    siret: str | None  # the commune's own (idAttribuant)
    proposals: regroupings.Regroupings = field(default_factory=regroupings.Regroupings)
    unreachable: identifiers.Unreachable | None = None  # something left unsearched


@step("identifier-beneficiaires")
def identify(
    groups: list[beneficiaries.Group],
    commune: CommuneSubventions,
    config: SubventionsConfig,
    settings: Settings,
    out: Path,
) -> Identification:
    """SIRET and RNA of each group (the officer's corrections win), the commune's own
    SIRET when the configuration does not give it, and the regroupings to propose. An
    API that cannot be reached leaves groups « non recherché » and the run goes on."""
    previous = identifiers.read_identifiers(out / IDENTIFIERS)
    client = identifiers.EntreprisesClient(
        config.api_url,
        settings.mirror,
        settings.data_dir / "cache" / "recherche-entreprises",
        rate=config.api_rate,
        policy=settings.http_policy,
    )
    found = identifiers.resolve(groups, client, commune.code_commune, previous)
    refused = {row.graphie for row in previous if row.refuses_regrouping}
    proposed = regroupings.propose(found, refused)
    identifiers.write_identifiers(out / IDENTIFIERS, found, proposed.cells())
    siret_unsearched = False
    try:
        siret = commune.siret or client.siege_siret(commune.siren)
    except identifiers.ApiUnreachable:
        siret, siret_unsearched = None, True
    unsearched = [item.nom_retenu for item in found if item.origine == identifiers.NOT_SEARCHED]
    unreachable = None
    if client.unreachable and (unsearched or siret_unsearched):
        unreachable = identifiers.Unreachable(client.unreachable, unsearched, siret_unsearched)
    return Identification(found, siret, proposed, unreachable)


@step("assembler-fichier-scdl")
def assemble(
    paths: list[Path],
    readings: list[Reading],
    found: list[identifiers.Identified],
    siret_attribuant: str | None,
    commune: CommuneSubventions,
    config: SubventionsConfig,
    out: Path,
    issues: list[Issue],
    notes: list[Issue],
    proposals: regroupings.Regroupings | None = None,
    unreachable: identifiers.Unreachable | None = None,
) -> Build:
    """The SCDL file and what the report says of it; a draft (NON-PUBLIABLE_) while
    anything blocks, an API that could not be asked included."""
    columns = scdl.fields(config.schema_path)
    if unreachable:
        issues = [_unreachable_issue(unreachable), *issues]
    by_spelling = {
        spelling: scdl.Beneficiary(item.nom_retenu, item.siret, item.rna)
        for item in found
        for spelling in item.graphies
    }
    rows = scdl.rows(readings, by_spelling, commune, siret_attribuant, columns)
    for stale in out.glob(f"*_{commune.siren}_*.csv"):
        stale.unlink()  # the previous build's file, named after its own data
    csv_path = out / scdl.file_name(commune, rows)
    scdl.write(csv_path, rows, columns)
    checks, total_issues = scdl.check_totals(readings)
    build = Build(
        commune=commune,
        documents=paths,
        readings=readings,
        found=found,
        siret_attribuant=siret_attribuant,
        columns=columns,
        rows=rows,
        csv_path=csv_path,
        validation=validate(csv_path, config.schema_path),
        checks=checks,
        issues=[*issues, *(i for r in readings for i in r.issues), *total_issues],
        out=out,
        notes=notes,
        proposals=proposals or regroupings.Regroupings(),
        unreachable=unreachable,
    )
    if not build.publiable:
        # Kept for the report's line numbers, named so that nobody publishes it by hand.
        build.csv_path = csv_path.rename(csv_path.with_name(UNFIT + csv_path.name))
    return build


def _unreachable_issue(unreachable: identifiers.Unreachable) -> Issue:
    return Issue(
        f"API Recherche d'entreprises injoignable ({unreachable.error.summary}) : "
        f"{unreachable.what()}",
        None,
        "relancez plus tard : au passage suivant, ce qui n'a pas été recherché le sera, et "
        "vos réponses dans identifiants.csv et decisions.csv seront gardées",
    )


@step("ecrire-rapport")
def write_report(build: Build) -> Path:
    path = build.out / REPORT
    path.write_text(build.markdown(), encoding="utf-8")
    create_markdown_artifact(
        key=f"subventions-{build.commune.code_commune}",
        markdown=build.markdown(),
        description=build.headline(),
    )
    return path


@step("exiger-fichier-publiable")
def enforce_publishable(build: Build) -> None:
    if build.unreachable:
        raise _unreachable_error(build, build.unreachable)
    if not build.publiable:
        raise InvalidData(
            build.headline(),
            where=str(build.out / REPORT),
            action="lisez le rapport : chaque problème y est donné avec sa ligne, sa colonne "
            "et la correction ; corrigez les fichiers identifiants.csv / decisions.csv ou les "
            "documents, puis relancez. Rien n'a été chargé ni publié",
        )


def _unreachable_error(build: Build, unreachable: identifiers.Unreachable) -> SourceUnavailable:
    own_siret = (
        " Pour ne plus dépendre de l'API pour le SIRET de la commune, indiquez-le "
        "(`idAttribuant`) dans catalog/subventions.yaml."
        if unreachable.siret_attribuant
        else ""
    )
    return SourceUnavailable(
        f"API Recherche d'entreprises injoignable ({unreachable.error.summary}) : "
        f"{unreachable.what()} ; le fichier SCDL n'est qu'un brouillon, NON publiable",
        where=f"API Recherche d'entreprises ({unreachable.error.host}) ; rapport : "
        f"{build.out / REPORT} ; brouillon : {build.csv_path}",
        action="relancez la même commande plus tard, quand l'API répondra : ce qui n'a pas "
        "été recherché le sera alors (les réponses déjà reçues sont en cache), et vos "
        "réponses dans identifiants.csv et decisions.csv sont gardées. En attendant, relisez "
        "le rapport et répondez à ses autres questions. Rien n'a été chargé ni publié. Si "
        "l'API répond dans un navigateur depuis ce poste, vérifiez le proxy (HTTPS_PROXY) "
        "avec le service informatique, ou `recherche_entreprises.url` dans "
        f"catalog/subventions.yaml.{own_siret}",
    )


@step("charger-subventions", run_name="charger-subventions-{build.commune.code_commune}")
def load_rows(candidate: Path, build: Build, drop_missing_years: bool) -> dict[str, int]:
    with connect(candidate) as conn:
        code = build.commune.code_commune
        if not drop_missing_years:
            loading.refuse_missing_years(conn, code, {row.annee for row in build.rows})
        loading.replace_commune(conn, code, build.rows, build.columns)
        return loading.build(conn)


@step("controler-subventions")
def check_quality(candidate: Path) -> Validation:
    """The suites of the marts built from the subsidies (the others did not change)."""
    downstream = loading.downstream_models()
    marts = [m for m in downstream if m.layer == "marts"]
    with duckdb.connect(str(candidate), read_only=True) as conn:
        published = load_catalog().published_keys(models.loaded_sources(conn))
        return validate_marts(conn, marts, downstream, published)
