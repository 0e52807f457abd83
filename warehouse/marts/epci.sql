-- Every EPCI à fiscalité propre of the run's COG, checked against its communes
-- (cross-checks of the quality gate, see expectations/epci.json):
--   nombre_communes: its member communes found in the référentiel of the COG
--     (intermediate.int_communes; 95 for the MEL), nombre_membres_officiel: the members
--     the official composition lists (DGCL via @etalab/decoupage-administratif);
--   population_municipale: the EPCI's own figure (populations légales, millésime
--     `millesime_population`);
--   population_communes: the sum of its communes' census population of that same
--     millésime (marts.population), NULL when that millésime is not in the warehouse;
--   ecart_population: population_communes − population_municipale (0 expected), only
--     when every member commune has that population (NULL otherwise: not comparable).
with epci as (
    select distinct
        millesime_cog,
        code_epci,
        nom_epci,
        type_epci,
        population_municipale,
        population_totale,
        millesime_population,
        nombre_membres_officiel
    from staging.stg_cog_epci
    where millesime_cog = (select cog from ref.execution)
),

communes as (
    select * from intermediate.int_communes where type_commune = 'commune-actuelle'
),

membres as (
    select code_epci, count(*) as nombre_communes, bool_or(dans_territoire) as dans_territoire
    from communes
    where code_epci is not null
    group by code_epci
),

recensement as (
    select
        communes.code_epci,
        population.millesime,
        sum(population.population) as population_communes,
        count(population.population) as communes_renseignees
    from marts.population as population
    inner join communes using (code_commune)
    group by communes.code_epci, population.millesime
),

final as (
    select
        epci.millesime_cog,
        epci.code_epci,
        epci.nom_epci,
        epci.type_epci,
        epci.code_epci = (select epci_is_mel from ref.execution) as is_mel,
        coalesce(membres.dans_territoire, false) as dans_territoire,
        coalesce(membres.nombre_communes, 0) as nombre_communes,
        epci.nombre_membres_officiel,
        epci.millesime_population,
        epci.population_municipale,
        epci.population_totale,
        recensement.population_communes,
        recensement.communes_renseignees,
        case
            when recensement.communes_renseignees = membres.nombre_communes
                then round(recensement.population_communes - epci.population_municipale, 3)
        end as ecart_population
    from epci
    left join membres using (code_epci)
    left join recensement
        on epci.code_epci = recensement.code_epci
        and epci.millesime_population = recensement.millesime
)

select * from final
order by code_epci
