-- Every census value, in the geography of the run, one row per millésime, year,
-- commune and variable (long format, the input of the population, familles, logement
-- and serie_historique marts): the values of intermediate.int_valeurs_communes that
-- carry a census theme. A base-cc file wins over the comparateur for the same
-- millésime, variable and commune (the comparateur repeats its counts).
with valeurs as (
    select * from intermediate.int_valeurs_communes where theme is not null
),

base_cc as (
    select * from valeurs
    where source_id in ('insee_evol_struct_pop', 'insee_logement', 'insee_familles')
),

final as (
    select * from valeurs
    where source_id <> 'insee_comparateur'
        or not exists (
            select 1 from base_cc
            where base_cc.millesime = valeurs.millesime
            and base_cc.variable = valeurs.variable
            and base_cc.code_commune = valeurs.code_commune
        )
)

select * exclude (source_id) from final
