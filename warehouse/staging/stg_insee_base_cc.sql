-- The census "base-cc" files (one row per commune, ~300 columns, INSEE codes such as
-- P22_POP or C22_FAMMONO), one row per commune, millésime and declared column.
-- Only declared columns are loaded (see tasks/sources/load.py); the columns of another
-- millésime are NULL for this row and dropped by UNPIVOT, while an empty cell of the
-- file is '' and kept, to be reported (macros of schema.sql).
-- A view: its rows, one per census cell (3.5 million for France), are read once, by the
-- intermediate model int_valeurs_situees; writing them to the warehouse cost more than
-- the whole UNPIVOT (bench/load_census.py).
-- materialized: view
with evol_struct_pop as (
    unpivot raw.insee_evol_struct_pop
    on columns(* exclude (CODGEO, _millesime, _sha256, _fichier, _ligne))
    into name code_indicateur value valeur_brute
),

logement as (
    unpivot raw.insee_logement
    on columns(* exclude (CODGEO, _millesime, _sha256, _fichier, _ligne))
    into name code_indicateur value valeur_brute
),

familles as (
    unpivot raw.insee_familles
    on columns(* exclude (CODGEO, _millesime, _sha256, _fichier, _ligne))
    into name code_indicateur value valeur_brute
),

unioned as (
    select 'insee_evol_struct_pop' as source_id, * from evol_struct_pop
    union all by name
    select 'insee_logement' as source_id, * from logement
    union all by name
    select 'insee_familles' as source_id, * from familles
),

final as (
    select
        source_id,
        _millesime::integer as millesime,
        CODGEO::varchar as code_origine,
        code_indicateur,
        valeur_recensement(valeur_brute) as valeur,
        raison_absence_recensement(valeur_brute) as raison_absence,
        _fichier as fichier,
        _ligne as ligne
    from unioned
)

select * from final
