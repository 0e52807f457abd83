-- The comparateur values that a census base-cc file gives too, for the same millésime,
-- variable and commune (the comparateur repeats its counts): the base-cc file wins, and
-- the intermediate model int_recensement leaves these out. One row per millésime,
-- variable and commune; found once here, where each census mart would otherwise look
-- up every base-cc value again.
with valeurs as not materialized (
    select * from intermediate.int_valeurs_communes where theme is not null
),

base_cc as (
    select millesime, variable, code_commune from valeurs
    where source_id in ('insee_evol_struct_pop', 'insee_logement', 'insee_familles')
),

comparateur as (
    select millesime, variable, code_commune from valeurs
    where source_id = 'insee_comparateur'
),

final as (
    select distinct millesime, variable, code_commune
    from comparateur
    semi join base_cc using (millesime, variable, code_commune)
)

select * from final
