-- Référentiel communal of the newest COG vintage loaded, with `is_mel` derived from
-- EPCI membership (ref.territoire comes from the registry), never from a list of codes.
with actuelles as (
    select * from staging.stg_geo_communes
    where millesime_cog = (select max(millesime_cog) from staging.stg_geo_communes)
),

associees_deleguees as (
    select * from staging.stg_geo_communes_associees_deleguees
    where millesime_cog = (
        select max(millesime_cog) from staging.stg_geo_communes_associees_deleguees
    )
),

territoire as (
    select epci from ref.territoire
),

final as (
    select
        code_commune,
        nom_commune,
        type_commune,
        code_departement,
        code_region,
        siren,
        code_epci,
        codes_postaux,
        population_municipale,
        code_commune_parente,
        coalesce(code_epci = (select epci from territoire), false) as is_mel,
        millesime_cog
    from actuelles

    union all

    select
        code_commune,
        nom_commune,
        type_commune,
        code_departement,
        code_region,
        siren,
        code_epci,
        codes_postaux,
        population_municipale,
        code_commune_parente,
        false as is_mel,
        millesime_cog
    from associees_deleguees
)

select * from final
order by code_commune, type_commune
