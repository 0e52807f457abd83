-- Every code of each COG vintage loaded (@etalab/decoupage-administratif communes.json):
-- communes, arrondissements municipaux, communes déléguées and associées. Rename and
-- cast only. The raw values are JSON text (lists as `["59390"]`, objects as `{…}`).
-- Before 2022 a collectivité d'outre-mer has no département: its collectivité's code.
with source as (
    select * from raw.cog_communes
),

final as (
    select
        _millesime::integer as millesime_cog,
        code::varchar as code_commune,
        nom::varchar as nom_commune,
        type::varchar as type_commune,
        coalesce(departement, json_extract_string(collectiviteOutremer, '$.code'))
            as code_departement,
        coalesce(region, json_extract_string(collectiviteOutremer, '$.code')) as code_region,
        coalesce(
            zone,
            case
                when collectiviteOutremer is not null then 'com'
                when left(code, 2) = '97' then 'drom'
                else 'metro'
            end
        ) as zone,
        siren::varchar as siren,
        array_to_string(from_json(codesPostaux, '["varchar"]'), '|') as codes_postaux,
        try_cast(population as bigint) as population_municipale,
        coalesce(chefLieu, commune)::varchar as code_commune_parente
    from source
)

select * from final
