-- Comparateur de territoires, one row per commune, millésime and INSEE variable.
-- Masked or missing cells become NULL with the reason, never 0 (macros of schema.sql).
-- A view, as every staging model of a per-commune file: its rows (one per cell) are read
-- once, by the intermediate model int_valeurs_situees; writing them to the warehouse
-- cost more than computing them (bench/load_census.py).
-- materialized: view
with source as (
    select * from raw.insee_comparateur
),

unpivoted as (
    -- Columns of another millésime are NULL for this row and dropped by UNPIVOT;
    -- an empty cell of the file is '' and kept, to be reported.
    unpivot source
    on columns(* exclude (CODGEO, _millesime, _sha256, _fichier, _ligne))
    into name code_indicateur value valeur_brute
),

final as (
    select
        _millesime::integer as millesime,
        CODGEO::varchar as code_commune,
        code_indicateur,
        valeur_recensement(valeur_brute) as valeur,
        raison_absence_recensement(valeur_brute) as raison_absence,
        trim(valeur_brute) as valeur_brute,
        _fichier as fichier,
        _ligne as ligne
    from unpivoted
)

select * from final
