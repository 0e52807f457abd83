-- Filosofi, commune files (base-cc-filosofi), one row per commune, millésime and INSEE
-- variable. The secret is an empty cell (2019) or `s` (2021): Filosofi leaves no other
-- cell empty. `nd` is "non disponible". NULL with the reason, never 0 (macros of
-- schema.sql); decimal commas are read.
-- A view, as every staging model of a per-commune file: its rows (one per cell) are read
-- once, by the intermediate model int_valeurs_situees; writing them to the warehouse
-- cost more than computing them (bench/load_census.py).
-- materialized: view
with source as (
    select * from raw.insee_filosofi
),

unpivoted as (
    unpivot source
    on columns(* exclude (CODGEO, _millesime, _sha256, _fichier, _ligne))
    into name code_indicateur value valeur_brute
),

final as (
    select
        _millesime::integer as millesime,
        CODGEO::varchar as code_origine,
        code_indicateur,
        valeur_recensement(valeur_brute) as valeur,
        case
            when trim(coalesce(valeur_brute, '')) = '' then 'secret statistique (cellule vide)'
            else raison_absence_recensement(valeur_brute)
        end as raison_absence,
        _fichier as fichier,
        _ligne as ligne
    from unpivoted
)

select * from final
