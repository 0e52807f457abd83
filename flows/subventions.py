"""Subsidies to associations: a commune's documents → one valid SCDL file → warehouse →
data.gouv.fr (what changed only).

Nothing is loaded or published unless the file passes the official schema, every total
of the documents is found again, every question of the report has its answer, and every
beneficiary could be looked up (an unreachable Recherche d'entreprises API leaves a
report and a NON-PUBLIABLE_ draft, and the run fails saying to run it again later).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger

from flows.publish import publish
from tasks.core.errors import ConfigurationError
from tasks.core.failure import reported_failure
from tasks.core.settings import Settings
from tasks.core.warehouse import candidate, locked
from tasks.publication.plan import PublicationReport
from tasks.quality.steps import enforce_quality, record_quality
from tasks.subventions.config import load_config
from tasks.subventions.steps import (
    assemble,
    check_quality,
    enforce_publishable,
    group_beneficiaries,
    identify,
    load_rows,
    read_documents,
    write_report,
)


@dataclass
class SubventionsRun:
    headline: str
    report: Path
    data_file: Path
    loaded: dict[str, int] = field(default_factory=dict)
    publication: PublicationReport | None = None

    def text(self) -> str:
        lines = [self.headline, f"  Fichier SCDL : {self.data_file}", f"  Rapport : {self.report}"]
        if self.loaded:
            counts = ", ".join(f"{table} : {rows} ligne(s)" for table, rows in self.loaded.items())
            lines.append(f"  Entrepôt : {counts}")
        if self.publication:
            lines.append(self.publication.text())
        return "\n".join(lines)


@flow(name="subventions", log_prints=True)
def subventions(
    input_dir: str,
    commune: str = "59522",
    out_dir: str | None = None,
    load: bool = True,
    drop_missing_years: bool = False,
    publish_changes: bool = False,
    env: Literal["demo", "prod"] = "demo",
    dry_run: bool = True,
) -> SubventionsRun:
    """Construit le fichier SCDL des subventions d'une commune à partir de ses documents.

    Args:
        input_dir: dossier des délibérations de la commune (.docx, .odt, .xlsx, .csv).
        commune: code INSEE de la commune (son entrée dans catalog/subventions.yaml).
        out_dir: dossier du fichier SCDL, du rapport et des fichiers à relire
            (identifiants.csv, decisions.csv) ; vide : data/outputs/subventions/<commune>.
        load: charger le fichier validé dans l'entrepôt (mart subventions, contrôlé).
        drop_missing_years: accepter qu'une année déjà dans l'entrepôt pour cette commune
            disparaisse parce qu'aucun document ne la contient plus (sinon : refus).
        publish_changes: publier ensuite sur data.gouv.fr ce qui a changé.
        env: où publier : demo (bac à sable) ou prod (www.data.gouv.fr).
        dry_run: simulation de la publication : écrire le plan sans rien envoyer.
    """
    with reported_failure("echec-subventions"):
        if publish_changes and not load:
            raise ConfigurationError(
                "publier sans charger publierait l'entrepôt tel qu'il était, pas ce fichier",
                where="paramètres load / publish_changes (--no-charger --publier)",
                action="retirez --no-charger pour charger puis publier, ou --publier pour "
                "n'écrire que le fichier",
            )
        settings = Settings.from_env()
        config = load_config()
        owner = config.commune(commune)
        out = Path(out_dir) if out_dir else settings.outputs_dir / "subventions" / commune
        paths, readings, issues, notes = read_documents(Path(input_dir), out)
        groups = group_beneficiaries(readings)
        # An API that cannot be reached still gives a report and a draft file; the
        # refusal comes after them, before anything is loaded.
        known = identify(groups, owner, config, settings, out)
        build = assemble(
            paths,
            readings,
            known.found,
            known.siret,
            owner,
            config,
            out,
            issues,
            notes,
            proposals=known.proposals,
            unreachable=known.unreachable,
        )
        run = SubventionsRun(build.headline(), write_report(build), build.csv_path)
        get_run_logger().info("%s (rapport : %s)", build.headline(), run.report)
        enforce_publishable(build)
        if not load:
            return run
        # One lock from the load to the end of the publication: no refresh in between.
        with locked(settings.warehouse):
            with candidate(settings.warehouse) as path:
                run.loaded = load_rows(path, build, drop_missing_years)
                validation = check_quality(path)
                record_quality(path, validation)
                enforce_quality(validation)  # inside the candidate: a refusal changes nothing
            if publish_changes:
                run.publication = publish(
                    env=env,
                    dry_run=dry_run,
                    datasets=["subventions"],
                    perimetres=[commune],
                    outcomes=validation.outcomes,
                )
        return run
