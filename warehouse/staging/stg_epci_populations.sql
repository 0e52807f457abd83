-- EPCI of the COG vintage and their populations légales, as shipped by the package
-- @etalab/decoupage-administratif. The package of COG year N carries the populations
-- of census millésime N − 4 (6.0.0 = COG 2026: RP 2022, checked: the MEL's 1 194 040
-- is the sum of its communes' P22_POP); `millesime_population` says so explicitly.
with source as (
    select * from raw.epci_populations
),

final as (
    select
        code::varchar as code_epci,
        nom::varchar as nom_epci,
        type::varchar as type_epci,
        try_cast(populationMunicipale as double) as population_municipale,
        try_cast(populationTotale as double) as population_totale,
        _millesime as millesime_cog,
        _millesime - 4 as millesime_population
    from source
)

select * from final
