-- Every census value, in the geography of the run, one row per millésime, year,
-- commune and variable (long format, the input of the population, familles, logement
-- and serie_historique marts): the values of intermediate.int_valeurs_communes that
-- carry a census theme. A base-cc file wins over the comparateur for the same
-- millésime, variable and commune (the comparateur repeats its counts): those
-- comparateur values are left out (intermediate.int_comparateur_doublons).
-- A view: each mart reads its own theme, a fraction of the rows, where a table would
-- copy them all once more (bench/load_census.py).
-- materialized: view
with valeurs as not materialized (
    select * from intermediate.int_valeurs_communes where theme is not null
),

final as (
    select * from valeurs where source_id <> 'insee_comparateur'
    union all
    select * from valeurs
    anti join intermediate.int_comparateur_doublons as doublons
        using (millesime, variable, code_commune)
    where source_id = 'insee_comparateur'
)

select * exclude (source_id) from final
