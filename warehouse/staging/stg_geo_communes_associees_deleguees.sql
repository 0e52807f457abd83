-- Communes associées and déléguées (Lomme, Hellemmes-Lille…): rename and cast only.
-- They belong to their parent commune; they are never EPCI members themselves.
with source as (
    select * from raw.geo_communes_associees_deleguees
),

renamed as (
    select
        _millesime::integer as millesime_cog,
        code::varchar as code_commune,
        nom::varchar as nom_commune,
        type::varchar as type_commune,
        null::varchar as code_departement,
        null::varchar as code_region,
        null::varchar as siren,
        null::varchar as code_epci,
        null::varchar as codes_postaux,
        null::bigint as population_municipale,
        chefLieu::varchar as code_commune_parente
    from source
),

final as (
    select * from renamed
)

select * from final
