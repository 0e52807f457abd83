-- Comparateur indicators per commune and millésime (long format: one row per
-- indicator), for every commune of the file, with `is_mel` from the communes mart.
-- `variable` is stable across millésimes; `code_indicateur` is INSEE's own code.
with valeurs as (
    select * from staging.stg_insee_comparateur
),

variables as (
    select * from ref.variables
    where source_id = 'insee_comparateur' and variable is not null
),

communes as (
    select code_commune, nom_commune, is_mel from marts.communes
    where type_commune = 'commune-actuelle'
),

-- The référentiel covers the départements of the registry only: outside them, whether
-- a code exists in the COG is unknown (NULL), not false.
departements as (
    select distinct code_departement from marts.communes where code_departement is not null
),

final as (
    select
        valeurs.millesime,
        valeurs.code_commune,
        communes.nom_commune,
        coalesce(communes.is_mel, false) as is_mel,
        case
            when left(valeurs.code_commune, 2) in (select code_departement from departements)
                then communes.code_commune is not null
        end as dans_cog,
        valeurs.code_indicateur,
        variables.variable,
        variables.libelle,
        variables.unite,
        valeurs.valeur,
        valeurs.raison_absence
    from valeurs
    inner join variables using (millesime, code_indicateur)
    left join communes using (code_commune)
)

select * from final
order by millesime, code_commune, variable
