-- Table de passage from the codes found in census files to the communes of the COG
-- vintage of the run. A census file uses the geography of its year: a commune later
-- merged into a commune nouvelle (59070 Bermeries -> 59006 L'Orée de Mormal in 2025)
-- or associated with another keeps its own row there. Such a code is now a commune
-- déléguée or associée of the COG, whose chef-lieu is the current commune.
-- Rule: current commune -> itself; déléguée/associée -> its chef-lieu.
with actuelles as (
    select code_commune, millesime_cog from staging.stg_geo_communes
    where millesime_cog = (select max(millesime_cog) from staging.stg_geo_communes)
),

anciennes as (
    select code_commune, code_commune_parente, type_commune
    from staging.stg_geo_communes_associees_deleguees
    where millesime_cog = (
        select max(millesime_cog) from staging.stg_geo_communes_associees_deleguees
    )
    -- the commune déléguée that carries the code of its commune nouvelle is the same code
    and code_commune <> code_commune_parente
),

final as (
    select
        code_commune as code_origine,
        code_commune,
        'commune en vigueur' as regle
    from actuelles

    union all

    select
        anciennes.code_commune as code_origine,
        anciennes.code_commune_parente as code_commune,
        'ancienne commune (' || replace(anciennes.type_commune, 'commune-', '')
        || ' aujourd''hui) rattachée à ' || anciennes.code_commune_parente as regle
    from anciennes
    where anciennes.code_commune not in (select code_commune from actuelles)
)

select * from final
