-- EPCI à fiscalité propre of each COG vintage loaded, with their members (one row per
-- EPCI and member commune). The package of COG year N carries the EPCI populations of
-- census millésime N − 4 (6.0.0 = COG 2026: RP 2022; checked: the MEL's 1 194 040 is the
-- sum of its communes' P22_POP); `millesime_population` says so explicitly.
with source as (
    select * from raw.cog_epci
),

membres as (
    select
        source.*,
        unnest(
            from_json(membres, '[{"code": "varchar", "siren": "varchar", "nom": "varchar"}]')
        ) as membre
    from source
),

final as (
    select
        _millesime::integer as millesime_cog,
        code::varchar as code_epci,
        nom::varchar as nom_epci,
        type::varchar as type_epci,
        try_cast(populationMunicipale as double) as population_municipale,
        try_cast(populationTotale as double) as population_totale,
        _millesime::integer - 4 as millesime_population,
        json_array_length(membres)::integer as nombre_membres_officiel,
        membre.code as code_commune,
        membre.nom as nom_commune
    from membres
)

select * from final
