"""The history of the quality gate in the warehouse, and the report a person reads."""

from __future__ import annotations

import json

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
    latest = conn.execute(
        "select mart, arg_max(run_id, valide_le), max(valide_le) from meta.validations "
        "group by mart"
    ).fetchall()
    if not latest:
        return None
    _, run_id, when = max(latest, key=lambda item: item[2])
    runs = {mart: (run, at) for mart, run, at in latest}
    rows = [
        row
        for mart, (run, _) in sorted(runs.items())
        for row in conn.execute(
            f"select {_COLUMNS} from meta.validations where mart = ? and run_id = ? "
            "order by succes, regle",
            [mart, run],
        ).fetchall()
    ]
    decisions = {
        mart: (decision, why, docs)
        for mart, run, decision, why, docs in conn.execute(
            "select mart, run_id, decision, raison, data_docs from meta.decisions_qualite"
        ).fetchall()
        if runs.get(mart, (None,))[0] == run
    }
    since = {(mart, rule): (depuis, n) for mart, rule, depuis, n in conn.execute(SINCE).fetchall()}
    names = [c.strip() for c in _COLUMNS.split(",")]
    results = [dict(zip(names, row, strict=True)) for row in rows]
    lines = [
        f"Contrôle qualité : dernière validation le {when:%d/%m/%Y à %H:%M} (UTC), "
        f"exécution {run_id}",
        "",
    ]
    for mart in dict.fromkeys(r["mart"] for r in results):
        own = [r for r in results if r["mart"] == mart]
        failed = [r for r in own if not r["succes"]]
        decision, why, docs = decisions.get(mart, ("?", None, None))
        millesime = own[0]["millesime"]
        own_run, own_when = runs[mart]
        earlier = (
            f" (validé le {own_when:%d/%m/%Y à %H:%M}, exécution {own_run})"
            if own_run != run_id
            else ""
        )
        lines.append(
            f"{mart}{f' (millésime {millesime})' if millesime else ''} : "
            f"{len(own) - len(failed)}/{len(own)} attentes respectées ; "
            f"{decision.upper()}{f' : {why}' if why else ''}{earlier}"
        )
        for r in sorted(failed, key=lambda r: r["gravite"] != "critical"):
            label = "BLOQUANT" if r["gravite"] == "critical" else "avertissement"
            lines.append(f"  - [{label}] {r['regle']}{_detail(r)}")
            if r["exemples"]:
                for sample in r["exemples"].split(SEPARATOR):
                    lines.append(f"      {sample}")
            depuis, count = since.get((mart, r["regle"]), (None, 0))
            if depuis and count > 1:
                lines.append(
                    f"      en échec depuis le {depuis:%d/%m/%Y} ({count} exécutions de suite)"
                )
    docs = next((d[2] for d in decisions.values() if d[2]), None)
    if docs:
        lines += ["", f"Rapport détaillé (Great Expectations Data Docs) : {docs}"]
    return "\n".join(lines)


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
