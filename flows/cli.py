"""`opendata-mel`: run the refresh and look at the warehouse from a terminal."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# A fresh Prefect home needs ~25 s of migrations before its ephemeral server answers.
_PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opendata-mel", description="Données ouvertes des communes de la MEL."
    )
    commands = parser.add_subparsers(required=True, metavar="commande")
    refresh = commands.add_parser("refresh", help="rafraîchir l'entrepôt depuis les sources")
    refresh.add_argument(
        "--millesime", type=int, help="millésime du recensement (défaut : le plus récent)"
    )
    refresh.add_argument(
        "--cog", type=int, help="millésime du COG, 2021 à 2026 (défaut : le plus récent connu)"
    )
    refresh.add_argument(
        "--territoire",
        help="SIREN d'un EPCI (200093201, la MEL, par défaut) ou code INSEE d'une commune",
    )
    refresh.add_argument(
        "--sources", help="identifiants du registre, séparés par des virgules (défaut : toutes)"
    )
    _publication_options(refresh)
    refresh.set_defaults(run=_refresh)
    publish = commands.add_parser(
        "publish", help="publier sur data.gouv.fr ce qui a changé (simulation par défaut)"
    )
    _publication_options(publish)
    publish.add_argument(
        "--fiches", help="fiches à publier, séparées par des virgules (défaut : toutes)"
    )
    publish.set_defaults(run=_publish)
    importer = commands.add_parser(
        "importer",
        help="importer un fichier d'un millésime passé (plus en ligne) puis rafraîchir la source",
    )
    importer.add_argument(
        "--source", required=True, help="identifiant du registre, par exemple insee_comparateur"
    )
    importer.add_argument(
        "--millesime", type=int, required=True, help="millésime du fichier, par exemple 2018"
    )
    importer.add_argument("fichier", type=Path, help="le fichier tel que publié par l'INSEE (zip)")
    importer.add_argument(
        "--cog", type=int, help="millésime du COG (défaut : le plus récent connu)"
    )
    importer.add_argument(
        "--territoire", help="SIREN d'un EPCI ou code d'une commune (défaut : la MEL)"
    )
    importer.add_argument(
        "--sources",
        help="autres sources à rafraîchir avec elle, séparées par des virgules (défaut : aucune)",
    )
    importer.set_defaults(run=_importer)
    millesimes = commands.add_parser(
        "millesimes",
        help="millésimes annoncés par les catalogues et adresses qui seraient lues (sans rien "
        "télécharger d'autre ni modifier l'entrepôt)",
    )
    millesimes.set_defaults(run=_millesimes)
    qualite = commands.add_parser(
        "qualite", help="résultats du dernier contrôle qualité, en clair (lecture seule)"
    )
    qualite.set_defaults(run=_qualite)
    _subventions_commands(commands)
    _site_command(commands)
    sql = commands.add_parser("sql", help="interroger l'entrepôt (lecture seule)")
    sql.add_argument(
        "requete", help='par exemple : "select count(*) from marts.communes where is_mel"'
    )
    sql.set_defaults(run=_sql)
    _restore_command(commands)
    alertes = commands.add_parser(
        "alertes",
        help="créer ou mettre à jour l'alerte d'échec sur le serveur Prefect (webhook de "
        "OPENDATA_WEBHOOK_URL ; sans elle : aucune alerte)",
    )
    alertes.set_defaults(run=_alertes)
    return parser


def _restore_command(commands) -> None:
    restore = commands.add_parser(
        "restaurer",
        help="remettre en service une génération précédente de l'entrepôt (après une panne : "
        "l'entrepôt remplacé est gardé, jamais effacé)",
    )
    chosen = restore.add_mutually_exclusive_group()
    chosen.add_argument(
        "--generation",
        type=int,
        default=1,
        help="numéro de la génération à remettre en service (1 : la plus récente, défaut)",
    )
    chosen.add_argument(
        "--liste", action="store_true", help="lister les générations gardées, sans rien modifier"
    )
    restore.set_defaults(run=_restaurer)


def _subventions_commands(commands) -> None:
    subventions = commands.add_parser(
        "subventions", help="subventions aux associations : documents → fichier SCDL"
    )
    actions = subventions.add_subparsers(required=True, metavar="action")
    _subventions_build_command(actions)
    check = actions.add_parser(
        "valider",
        help="valider un fichier CSV contre le schéma SCDL subventions (sans rien écrire)",
    )
    check.add_argument("fichier", help="fichier CSV à valider")
    check.set_defaults(run=_subventions_check)


def _subventions_build_command(actions) -> None:
    build = actions.add_parser(
        "build",
        help="lire les délibérations d'une commune, écrire le fichier SCDL, le rapport et les "
        "fichiers à relire ; charger dans l'entrepôt si tout est valide",
    )
    build.add_argument(
        "--input", required=True, help="dossier des documents (.docx, .odt, .xlsx, .csv)"
    )
    build.add_argument("--commune", default="59522", help="code INSEE (défaut : 59522)")
    build.add_argument(
        "--out", help="dossier de sortie (défaut : data/outputs/subventions/<commune>)"
    )
    build.add_argument(
        "--charger",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="charger le fichier validé dans l'entrepôt (défaut) ; --no-charger : fichier seul",
    )
    build.add_argument(
        "--retirer-annees",
        action="store_true",
        help="accepter qu'une année déjà chargée disparaisse faute de document (sinon : refus)",
    )
    build.add_argument(
        "--publier", action="store_true", help="publier ensuite ce qui a changé (data.gouv.fr)"
    )
    build.add_argument("--env", choices=["demo", "prod"], default="demo")
    build.add_argument("--dry-run", action=argparse.BooleanOptionalAction, default=True)
    build.set_defaults(run=_subventions_build)


def _site_command(commands) -> None:
    site = commands.add_parser(
        "site", help="écrire le site citoyen (graphiques et chiffres) d'une commune de la MEL"
    )
    chosen = site.add_mutually_exclusive_group()
    chosen.add_argument(
        "--commune",
        nargs="+",
        default=["59522"],
        help="code INSEE de la commune, ou de plusieurs (défaut : 59522)",
    )
    chosen.add_argument(
        "--all-mel", action="store_true", help="les 95 communes de la MEL, et leur liste"
    )
    site.add_argument("--out", help="dossier de sortie (défaut : data/outputs/site)")
    site.add_argument(
        "--env",
        choices=["demo", "prod"],
        default="prod",
        help="plateforme des liens vers les jeux de données (défaut : www.data.gouv.fr)",
    )
    site.add_argument("--bandeau", help="avertissement affiché en haut de chaque page")
    site.add_argument(
        "--dask",
        help="construire les pages sur un cluster Dask : son adresse (tcp://hôte:8786), "
        "ou « local » pour les cœurs de cette machine (défaut : OPENDATA_DASK)",
    )
    site.set_defaults(run=_site)


def _subventions_build(args: argparse.Namespace) -> int:
    from flows.subventions import subventions

    return _run(
        "de la construction du fichier des subventions",
        lambda: subventions(
            input_dir=args.input,
            commune=args.commune,
            out_dir=args.out,
            load=args.charger,
            drop_missing_years=args.retirer_annees,
            publish_changes=args.publier,
            env=args.env,
            dry_run=args.dry_run,
        ),
    )


def _site(args: argparse.Namespace) -> int:
    from tasks.core.damage import check_readable
    from tasks.core.settings import Settings

    def build():
        warehouse = Settings.from_env().warehouse
        if warehouse.exists():  # a missing one: the site's own message
            check_readable(warehouse)  # a damaged one: in French, before Prefect starts
        from flows.citizen_site import citizen_site

        return citizen_site(
            commune=args.commune[0],
            communes=args.commune if len(args.commune) > 1 else None,
            all_mel=args.all_mel,
            out_dir=args.out,
            env=args.env,
            banner=args.bandeau,
            dask=args.dask,
        )

    return _run("de la construction du site citoyen", build)


def _subventions_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tasks.core.errors import OpenDataError
    from tasks.quality.schema.validate import validate
    from tasks.subventions.config import load_config

    try:
        config = load_config()
    except OpenDataError as error:
        print(error.message, file=sys.stderr)
        return 1
    result = validate(Path(args.fichier), config.schema_path)
    verdict = "conforme" if result.conforme else "NON conforme"
    line = f"{args.fichier} : {verdict} au schéma {config.schema_name} {config.schema_version}"
    dates = sum(problem.niveau == "date" for problem in result.problems)
    if result.conforme and dates:
        line += f", mais {dates} date(s) impossible(s) à corriger avant publication"
    print(line)
    for line in result.lines():
        print(f"  - {line}")
    return 0 if result.publiable else 1


def _publication_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        choices=["demo", "prod"],
        default="demo",
        help="demo.data.gouv.fr (bac à sable, défaut) ou www.data.gouv.fr",
    )
    parser.add_argument(
        "--dry-run",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="simulation : écrire le plan sans rien envoyer (défaut) ; --no-dry-run publie",
    )
    parser.add_argument(
        "--perimetres",
        help="périmètres à publier, séparés par des virgules : mel, 59522… (défaut : tous)",
    )
    parser.add_argument("--force", action="store_true", help="republier même ce qui n'a pas changé")


def _refresh(args: argparse.Namespace) -> int:
    from flows.yearly_refresh import yearly_refresh

    sources = _listed(args.sources)
    return _run(
        "du rafraîchissement",
        lambda: yearly_refresh(
            millesime=args.millesime,
            cog=args.cog,
            territoire=args.territoire,
            sources=sources,
            perimetres=_listed(args.perimetres),
            env=args.env,
            dry_run=args.dry_run,
            force=args.force,
        ),
    )


def _importer(args: argparse.Namespace) -> int:
    from flows.yearly_refresh import yearly_refresh
    from tasks.core.errors import OpenDataError
    from tasks.core.settings import Settings
    from tasks.sources.imports import import_file
    from tasks.sources.raw_store import RawStore
    from tasks.sources.registry import load_registry

    try:
        source = load_registry().select([args.source])[-1]
        store = RawStore(Settings.from_env().raw_dir)
        raw = import_file(store, source, args.fichier.expanduser().resolve(), args.millesime)
    except OpenDataError as error:
        print(f"ÉCHEC de l'import.\n{error}", file=sys.stderr)
        return 1
    print(
        f"Fichier importé : {source.id}, millésime {raw.millesime}, sha256 {raw.sha256}, "
        f"conservé dans {raw.path} ; rafraîchissement de la source…"
    )
    return _run(
        "du rafraîchissement",
        lambda: yearly_refresh(
            sources=[source.id, *(_listed(args.sources) or [])],
            cog=args.cog,
            territoire=args.territoire,
        ),
    )


def _publish(args: argparse.Namespace) -> int:
    from flows.publish import publish

    fiches = _listed(args.fiches)
    return _run(
        "de la publication",
        lambda: publish(
            env=args.env,
            dry_run=args.dry_run,
            datasets=fiches,
            perimetres=_listed(args.perimetres),
            force=args.force,
        ),
    )


def _run(what: str, call) -> int:
    for key, value in _PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from tasks.core.errors import OpenDataError

    try:
        result = call()
    except OpenDataError as error:
        print(f"\nÉCHEC {what}.\n{error.message}", file=sys.stderr)
        return 1
    print("\n" + result.text())
    return 0


def _listed(value: str | None) -> list[str] | None:
    return [item.strip() for item in value.split(",") if item.strip()] if value else None


def _millesimes(args: argparse.Namespace) -> int:
    from tasks.core.errors import OpenDataError
    from tasks.core.settings import Settings
    from tasks.sources.client import SourceClient
    from tasks.sources.discovery import Catalogues, discover
    from tasks.sources.registry import load_registry

    try:
        registry = load_registry()
        catalogues = Catalogues(SourceClient(Settings.from_env()), registry)
        lines = []
        for source in registry.sources.values():
            if not (source.discovery or source.urls_by_millesime):
                continue
            found = discover(source, catalogues, None)
            announced = f"annoncé : {found.annonce}" if found.annonce else "non annoncé"
            lines += [
                f"- {source.id} : millésime {found.millesime} ({announced})",
                f"    trouvé : {found.origine}",
                f"    adresse : {found.url}",
                *([f"    attention : {found.avertissement}"] if found.avertissement else []),
            ]
    except OpenDataError as error:
        print(f"ÉCHEC de la découverte des millésimes.\n{error.message}", file=sys.stderr)
        return 1
    print("Millésimes des sources du recensement\n" + "\n".join(lines))
    return 0


def _qualite(args: argparse.Namespace) -> int:
    def show(conn) -> int:
        from tasks.quality.history import latest_report  # imports GX (~7 s)

        has_history = conn.execute(
            "select count(*) from duckdb_tables() "
            "where schema_name = 'meta' and table_name = 'validations'"
        ).fetchall()[0][0]
        report = latest_report(conn) if has_history else None
        if report is None:
            print(
                "Aucun contrôle qualité enregistré : lancez d'abord `make demo`.", file=sys.stderr
            )
            return 1
        print(report)
        return 0

    return _reading("de la lecture du contrôle qualité", show)


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    from tasks.core.damage import damage_of

    def show(conn) -> int:
        try:
            conn.sql(args.requete).show(max_rows=60, max_width=200)
        except duckdb.Error as error:
            if damage_of(error):  # the file, not the query
                raise
            print(f"Requête refusée par DuckDB : {error}", file=sys.stderr)
            return 1
        return 0

    return _reading("de la lecture de l'entrepôt", show)


def _reading(what: str, read) -> int:
    """`read(conn)` on the warehouse opened read-only; a missing, held or damaged
    warehouse is said in French (tasks/core/warehouse.py)."""
    import duckdb

    from tasks.core.damage import damage_of, open_checked, unreadable
    from tasks.core.errors import OpenDataError
    from tasks.core.settings import Settings

    warehouse = Settings.from_env().warehouse
    if not warehouse.exists():
        print(f"Entrepôt absent ({warehouse}) : lancez d'abord `make demo`.", file=sys.stderr)
        return 1
    try:
        with open_checked(warehouse, whole=True) as conn:
            return read(conn)
    except OpenDataError as error:
        message = error.message
    except duckdb.Error as error:
        if not damage_of(error):
            raise
        message = unreadable(warehouse, error).message
    print(f"ÉCHEC {what}.\n{message}", file=sys.stderr)
    return 1


def _restaurer(args: argparse.Namespace) -> int:
    from tasks.core import warehouse as store
    from tasks.core.errors import OpenDataError
    from tasks.core.settings import Settings

    settings = Settings.from_env()
    try:
        if args.liste:
            print(store.describe(settings.warehouse, settings.generations))
            return 0
        restored = store.restore(settings.warehouse, args.generation, settings.generations)
    except OpenDataError as error:
        print(f"ÉCHEC de la restauration.\n{error.message}", file=sys.stderr)
        return 1
    print(restored.text())
    return 0


def _alertes(args: argparse.Namespace) -> int:
    from tasks.core.errors import OpenDataError
    from tasks.operations.alerts import AlertSpec, configure, webhook_from_env

    try:
        print(configure(AlertSpec.load(), webhook_from_env()))
    except OpenDataError as error:
        print(f"ÉCHEC de la configuration de l'alerte.\n{error.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
