"""`opendata-mel`: run the refresh and look at the warehouse from a terminal."""

from __future__ import annotations

import argparse
import os
import sys

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
    refresh.add_argument("--cog", type=int, help="millésime du COG (défaut : année en cours)")
    refresh.add_argument(
        "--sources", help="identifiants du registre, séparés par des virgules (défaut : toutes)"
    )
    refresh.set_defaults(run=_refresh)
    sql = commands.add_parser("sql", help="interroger l'entrepôt (lecture seule)")
    sql.add_argument(
        "requete", help='par exemple : "select count(*) from marts.communes where is_mel"'
    )
    sql.set_defaults(run=_sql)
    return parser


def _refresh(args: argparse.Namespace) -> int:
    for key, value in _PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from flows.yearly_refresh import yearly_refresh
    from tasks.errors import OpenDataError

    sources = [s.strip() for s in args.sources.split(",")] if args.sources else None
    try:
        summary = yearly_refresh(millesime=args.millesime, cog=args.cog, sources=sources)
    except OpenDataError as error:
        print(f"\nÉCHEC du rafraîchissement.\n{error.message}", file=sys.stderr)
        return 1
    print("\n" + summary.text())
    return 0


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    from tasks.settings import Settings

    warehouse = Settings.from_env().warehouse
    if not warehouse.exists():
        print(f"Entrepôt absent ({warehouse}) : lancez d'abord `make demo`.", file=sys.stderr)
        return 1
    try:
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            conn.sql(args.requete).show(max_rows=60, max_width=200)
    except duckdb.Error as error:
        print(f"Requête refusée par DuckDB : {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
