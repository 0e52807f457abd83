-- The EPCI of the territory per COG vintage, checked against its communes (cross-checks
-- of the quality gate, see expectations/epci.json):
--   nombre_communes: its member communes in the référentiel (95 for the MEL);
--   population_municipale: the EPCI's own figure (populations légales, millésime
--     `millesime_population`);
--   population_communes: the sum of its communes' census population of that same
--     millésime (marts.population), NULL when that millésime is not in the warehouse;
--   ecart_population: population_communes − population_municipale (0 expected).
with epci as (
    select * from staging.stg_epci_populations
    where code_epci = (select epci from ref.territoire)
        and millesime_cog = (select max(millesime_cog) from staging.stg_epci_populations)
),

membres as (
    select code_epci, millesime_cog, count(*) as nombre_communes
    from marts.communes
    where type_commune = 'commune-actuelle'
    group by code_epci, millesime_cog
),

recensement as (
    select
        communes.code_epci,
        population.millesime,
        sum(population.population) as population_communes,
        count(population.population) as communes_renseignees
    from marts.population as population
    inner join marts.communes as communes
        on population.code_commune = communes.code_commune
        and communes.type_commune = 'commune-actuelle'
    group by communes.code_epci, population.millesime
),

final as (
    select
        epci.millesime_cog,
        epci.code_epci,
        epci.nom_epci,
        epci.type_epci,
        true as is_mel,
        membres.nombre_communes,
        epci.millesime_population,
        epci.population_municipale,
        epci.population_totale,
        recensement.population_communes,
        recensement.communes_renseignees,
        round(recensement.population_communes - epci.population_municipale, 3)
            as ecart_population
    from epci
    left join membres using (code_epci, millesime_cog)
    left join recensement
        on epci.code_epci = recensement.code_epci
        and epci.millesime_population = recensement.millesime
)

select * from final
order by millesime_cog
