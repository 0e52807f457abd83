"""The history of the quality gate in the warehouse, and the report a person reads."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from tasks.core.text import french_number
from tasks.quality.gate import Outcome, Validation

_COLUMNS = (
    "run_id, valide_le, mart, millesime, attente, regle, colonne, gravite, origine, succes, "
    "valeur_observee, nb_ecarts, exemples, erreur"
)
SEPARATOR = " | "


def record(conn: duckdb.DuckDBPyConnection, validation: Validation) -> None:
    """Append the results and the decision of each mart to meta.validations and
    meta.decisions_qualite (inside the candidate: they land with the warehouse)."""
    conn.executemany(
        f"insert into meta.validations ({_COLUMNS}) values "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_row(validation, outcome) for outcome in validation.outcomes],
    )
    conn.executemany(
        "insert into meta.decisions_qualite values (?, ?, ?, ?, ?, ?)",
        [
            (
                validation.run_id,
                validation.validated_at,
                mart,
                "bloqué" if mart in validation.blocked else "validé",
                validation.blocked.get(mart),
                str(validation.docs) if validation.docs else None,
            )
            for mart in validation.marts
        ],
    )


def _row(validation: Validation, o: Outcome) -> tuple:
    observed = None if o.observed is None else json.dumps(o.observed, ensure_ascii=False)
    return (
        validation.run_id,
        validation.validated_at,
        o.mart,
        o.millesime,
        o.expectation,
        o.rule,
        o.column,
        o.severity,
        o.origin,
        o.success,
        observed,
        o.unexpected_count,
        SEPARATOR.join(o.samples) or None,
        o.error,
    )


# Since when each failing check of the latest run has been failing without interruption.
SINCE = """
with derniere as (
    select run_id from meta.validations order by valide_le desc limit 1
),
echecs as (
    select * from meta.validations
    where run_id = (select run_id from derniere) and not succes
),
dernier_succes as (
    select v.mart, v.regle, max(v.valide_le) as le
    from meta.validations v join echecs e using (mart, regle)
    where v.succes
    group by all
)
select e.mart, e.regle, min(v.valide_le) as depuis, count(distinct v.run_id) as executions
from echecs e
join meta.validations v using (mart, regle)
left join dernier_succes s using (mart, regle)
where not v.succes and (s.le is null or v.valide_le > s.le)
group by all
"""


def latest_report(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The latest validation of each mart, in French, for the terminal: a run that
    validates only some marts (the subsidies flow) does not hide the others."""
    runs = _latest_runs(conn)
    if not runs:
        return None
    run_id, when = max(runs.values(), key=lambda item: item[1])
    results = _results(conn, runs)
    decisions = _decisions(conn, runs)
    since = {(mart, rule): (depuis, n) for mart, rule, depuis, n in conn.execute(SINCE).fetchall()}
    lines = [
        f"Contrôle qualité : dernière validation le {when:%d/%m/%Y à %H:%M} (UTC), "
        f"exécution {run_id}",
        "",
    ]
    for mart in dict.fromkeys(r["mart"] for r in results):
        own = [r for r in results if r["mart"] == mart]
        decision = decisions.get(mart, ("?", None, None))
        lines += _mart_lines(own, decision, runs[mart], run_id, since)
    docs = next((d[2] for d in decisions.values() if d[2]), None)
    if docs:
        lines += ["", f"Rapport détaillé (Great Expectations Data Docs) : {docs}"]
    return "\n".join(lines)


def _latest_runs(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, datetime]]:
    """Per mart, the run that validated it last and when."""
    latest = conn.execute(
        "select mart, arg_max(run_id, valide_le), max(valide_le) from meta.validations "
        "group by mart"
    ).fetchall()
    return {mart: (run, at) for mart, run, at in latest}


def _results(conn: duckdb.DuckDBPyConnection, runs: dict[str, tuple[str, datetime]]) -> list[dict]:
    """The results of each mart's latest run, by mart, failures first."""
    rows = [
        row
        for mart, (run, _) in sorted(runs.items())
        for row in conn.execute(
            f"select {_COLUMNS} from meta.validations where mart = ? and run_id = ? "
            "order by succes, regle",
            [mart, run],
        ).fetchall()
    ]
    names = [c.strip() for c in _COLUMNS.split(",")]
    return [dict(zip(names, row, strict=True)) for row in rows]


def _decisions(
    conn: duckdb.DuckDBPyConnection, runs: dict[str, tuple[str, datetime]]
) -> dict[str, tuple]:
    """The decision, its reason and the Data Docs of each mart's latest run."""
    return {
        mart: (decision, why, docs)
        for mart, run, decision, why, docs in conn.execute(
            "select mart, run_id, decision, raison, data_docs from meta.decisions_qualite"
        ).fetchall()
        if runs.get(mart, (None,))[0] == run
    }


def _mart_lines(
    own: list[dict],
    decision: tuple,
    run: tuple[str, datetime],
    latest_run_id: str,
    since: dict[tuple[str, str], tuple],
) -> list[str]:
    """One mart: its summary line, then each failure, blocking ones first."""
    mart, millesime = own[0]["mart"], own[0]["millesime"]
    failed = [r for r in own if not r["succes"]]
    verdict, why, _ = decision
    own_run, own_when = run
    earlier = (
        f" (validé le {own_when:%d/%m/%Y à %H:%M}, exécution {own_run})"
        if own_run != latest_run_id
        else ""
    )
    lines = [
        f"{mart}{f' (millésime {millesime})' if millesime else ''} : "
        f"{len(own) - len(failed)}/{len(own)} attentes respectées ; "
        f"{verdict.upper()}{f' : {why}' if why else ''}{earlier}"
    ]
    for r in sorted(failed, key=lambda r: r["gravite"] != "critical"):
        lines += _failure_lines(r, since.get((mart, r["regle"]), (None, 0)))
    return lines


def _failure_lines(r: dict, since: tuple) -> list[str]:
    """A failed expectation, its samples, and since when it fails when that is not new."""
    label = "BLOQUANT" if r["gravite"] == "critical" else "avertissement"
    lines = [f"  - [{label}] {r['regle']}{_detail(r)}"]
    if r["exemples"]:
        lines += [f"      {sample}" for sample in r["exemples"].split(SEPARATOR)]
    depuis, count = since
    if depuis and count > 1:
        lines.append(f"      en échec depuis le {depuis:%d/%m/%Y} ({count} exécutions de suite)")
    return lines


def _detail(r: dict) -> str:
    if r["erreur"]:
        return f" : {r['erreur']}"
    if r["nb_ecarts"]:
        return f" : {french_number(r['nb_ecarts'])} valeur(s) en écart"
    if r["valeur_observee"] is not None:
        return f" : valeur observée {r['valeur_observee']}"
    return ""


def markdown(validation: Validation) -> str:
    """The Prefect artifact of a validation: per mart, then each failure with samples."""
    lines = [
        "# Contrôle qualité",
        "",
        f"Exécution `{validation.run_id}`, le {validation.validated_at:%d/%m/%Y à %H:%M} (UTC).",
        "",
        "| Mart | Millésime | Respectées | Bloquantes en échec | Avertissements | Décision |",
        "|---|---|---|---|---|---|",
    ]
    for mart in validation.marts:
        own = [o for o in validation.outcomes if o.mart == mart]
        critical = sum(not o.success and o.severity == "critical" for o in own)
        warnings = sum(not o.success and o.severity == "warning" for o in own)
        decision = (
            f"**bloqué** : {validation.blocked[mart]}" if mart in validation.blocked else "validé"
        )
        lines.append(
            f"| {mart} | {own[0].millesime or ''} | {sum(o.success for o in own)}/{len(own)} "
            f"| {critical} | {warnings} | {decision} |"
        )
    failed = [o for o in validation.outcomes if not o.success]
    if failed:
        lines += [
            "",
            "## Attentes en échec",
            "",
            "| Mart | Gravité | Colonne | Règle | Écarts | Exemples (commune : valeur) |",
            "|---|---|---|---|---|---|",
        ]
        for o in sorted(failed, key=lambda o: (o.mart, o.severity != "critical")):
            gravity = "bloquante" if o.severity == "critical" else "avertissement"
            count = o.error or (
                french_number(o.unexpected_count) if o.unexpected_count else f"{o.observed}"
            )
            samples = "<br>".join(_cell(s) for s in o.samples)
            lines.append(
                f"| {o.mart} | {gravity} | {o.column or ''} | {_cell(o.rule)} | {_cell(count)} "
                f"| {samples} |"
            )
    if validation.docs:
        lines += ["", f"Rapport détaillé (Great Expectations Data Docs) : `{validation.docs}`"]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
