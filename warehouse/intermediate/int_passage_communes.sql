-- Table de passage: for each geography G of a loaded file (ref.geographies, from the
-- registry) and each code of G changed between G and the run's COG C, the commune(s) of
-- C it became. Built from INSEE's movements of communes, COM -> COM only:
--   - G < C: the events after 1 January G up to 1 January C, in date order;
--   - G > C (a file newer than the COG asked for): the same events undone, newest first.
-- A code followed event by event ends on one commune (fusion, commune nouvelle, change of
-- code: its figures add up there), or on several (a rétablissement, or a fusion undone):
-- then its figures cannot be apportioned, never guessed: `repartissable` is false and
-- `regle` says why. A code with no event between G and C keeps its code (no row here),
-- unless it is a commune déléguée or associée of C (a file whose geography is a little
-- older than declared): then it goes to its commune de rattachement, as INSEE does.
with recursive execution as (
    select cog from ref.execution
),

geographies as (
    select distinct geographie from ref.geographies
),

evenements as (
    select * from staging.stg_cog_mouvements
    where type_avant = 'COM' and type_apres = 'COM'
),

-- One step of a code from G towards C, ordered by `rang`.
etapes as (
    select
        geographies.geographie,
        evenements.code_avant as code_depart,
        evenements.code_apres as code_arrivee,
        evenements.date_effet,
        epoch(evenements.date_effet) as rang
    from geographies
    cross join execution
    inner join evenements
        on evenements.date_effet > make_date(geographies.geographie, 1, 1)
        and evenements.date_effet <= make_date(execution.cog, 1, 1)
    where geographies.geographie < execution.cog

    union all

    select
        geographies.geographie,
        evenements.code_apres as code_depart,
        evenements.code_avant as code_arrivee,
        evenements.date_effet,
        -epoch(evenements.date_effet) as rang
    from geographies
    cross join execution
    inner join evenements
        on evenements.date_effet > make_date(execution.cog, 1, 1)
        and evenements.date_effet <= make_date(geographies.geographie, 1, 1)
    where geographies.geographie > execution.cog
),

-- Each step with the rank of the next step of the code it arrives at (NULL: the last).
suites as (
    select
        etapes.geographie,
        etapes.code_depart,
        etapes.code_arrivee,
        etapes.date_effet,
        etapes.rang,
        min(suivantes.rang) as rang_suivant
    from etapes
    left join etapes as suivantes
        on etapes.geographie = suivantes.geographie
        and etapes.code_arrivee = suivantes.code_depart
        and suivantes.rang > etapes.rang
    group by all
),

premieres as (
    select geographie, code_depart, min(rang) as rang from etapes group by all
),

suivi as (
    select
        suites.geographie,
        suites.code_depart as code_origine,
        suites.code_arrivee as code,
        suites.rang_suivant,
        suites.date_effet,
        1 as profondeur
    from suites
    inner join premieres using (geographie, code_depart, rang)

    union all

    select
        suivi.geographie,
        suivi.code_origine,
        suites.code_arrivee as code,
        suites.rang_suivant,
        suites.date_effet,
        suivi.profondeur + 1 as profondeur
    from suivi
    inner join suites
        on suivi.geographie = suites.geographie
        and suivi.code = suites.code_depart
        and suivi.rang_suivant = suites.rang
    where suivi.profondeur < 50
),

arrivees as (
    select geographie, code_origine, code as code_commune, max(date_effet) as date_effet
    from suivi
    where rang_suivant is null
    group by all
),

partages as (
    select
        geographie,
        code_origine,
        count(*) as nombre_communes,
        string_agg(code_commune, ', ' order by code_commune) as communes
    from arrivees
    group by all
),

suivies as (
    select
        arrivees.geographie,
        arrivees.code_origine,
        arrivees.code_commune,
        partages.nombre_communes = 1 as repartissable,
        case
            when partages.nombre_communes = 1
                then 'code ' || arrivees.code_origine || ' (COG ' || arrivees.geographie
                || ') devenu ' || arrivees.code_commune || ' (COG ' || execution.cog || ', au '
                || strftime(arrivees.date_effet, '%Y-%m-%d') || ')'
            else 'commune ' || arrivees.code_origine || ' (COG ' || arrivees.geographie
                || ') partagée entre ' || partages.communes || ' (COG ' || execution.cog
                || ') : chiffres non répartissables'
        end as regle
    from arrivees
    inner join partages using (geographie, code_origine)
    cross join execution
),

rattachees as (
    select
        geographies.geographie,
        communes.code_commune as code_origine,
        communes.code_commune_parente as code_commune,
        true as repartissable,
        'ancienne commune ' || communes.code_commune || ' ('
        || replace(communes.type_commune, 'commune-', '') || ' au COG ' || communes.millesime_cog
        || ') rattachée à ' || communes.code_commune_parente as regle
    from intermediate.int_communes as communes
    cross join geographies
    where communes.type_commune in ('commune-deleguee', 'commune-associee')
        and communes.code_commune <> communes.code_commune_parente
        and communes.code_commune not in (
            select code_commune from intermediate.int_communes
            where type_commune = 'commune-actuelle'
        )
        and not exists (
            select 1 from suivies
            where suivies.geographie = geographies.geographie
            and suivies.code_origine = communes.code_commune
        )
),

final as (
    select * from suivies
    union all
    select * from rattachees
)

select * from final
