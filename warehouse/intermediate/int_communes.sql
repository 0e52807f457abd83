-- The commune geography of the run's COG (ref.execution.cog), defined once for every
-- mart: each code of the COG (communes, arrondissements municipaux, communes déléguées
-- and associées) with its département, région, EPCI and the run's flags.
--   is_mel: member of the EPCI ref.execution.epci_is_mel (200093201, the client's flag),
--     from the official membership of that COG, never from a list of codes;
--   dans_territoire: the commune is the run's territory or a member of it;
--   dans_cog: always true here; a mart's code absent from this table is outside the COG.
-- Arrondissements, communes déléguées and associées belong to their parent commune
-- (`code_commune_parente`): they are never EPCI members themselves.
with execution as (
    select * from ref.execution
),

codes as (
    select * from staging.stg_cog_communes
    where millesime_cog = (select cog from execution)
),

membres as (
    select * from staging.stg_cog_epci
    where millesime_cog = (select cog from execution)
),

final as (
    select
        codes.code_commune,
        codes.nom_commune,
        codes.type_commune,
        codes.code_departement,
        codes.code_region,
        codes.zone,
        codes.siren,
        membres.code_epci,
        membres.nom_epci,
        membres.type_epci,
        codes.codes_postaux,
        codes.population_municipale,
        codes.code_commune_parente,
        coalesce(membres.code_epci = execution.epci_is_mel, false) as is_mel,
        coalesce(
            codes.code_commune = execution.territoire or membres.code_epci = execution.territoire,
            false
        ) as dans_territoire,
        codes.millesime_cog
    from codes
    cross join execution
    left join membres
        on codes.code_commune = membres.code_commune
        and codes.type_commune = 'commune-actuelle'
)

select * from final
