-- Communes actuelles, as served by geo.api.gouv.fr: rename and cast only.
with source as (
    select * from raw.geo_communes
),

renamed as (
    select
        _millesime::integer as millesime_cog,
        code::varchar as code_commune,
        nom::varchar as nom_commune,
        'commune-actuelle' as type_commune,
        codeDepartement::varchar as code_departement,
        codeRegion::varchar as code_region,
        siren::varchar as siren,
        codeEpci::varchar as code_epci,
        array_to_string(codesPostaux::varchar[], '|') as codes_postaux,
        population::bigint as population_municipale,
        null::varchar as code_commune_parente
    from source
),

final as (
    select * from renamed
)

select * from final
