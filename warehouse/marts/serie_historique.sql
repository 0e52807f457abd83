-- The census since 1968 per commune (COG of the run) and census year, from the newest
-- série historique in the warehouse, with `is_mel`.
--   part_logements_vacants: % of dwellings;
--   naissances / deces: of the period from the previous census year (annee_precedente)
--     to this one; taux_natalite / taux_mortalite: per year per 1 000 inhabitants of
--     the mean of the two census populations.
with valeurs as (
    select * from intermediate.int_recensement
    where theme = 'serie_historique'
    and millesime = (
        select max(millesime) from intermediate.int_recensement where theme = 'serie_historique'
    )
),

communes as (
    select * from intermediate.int_communes where type_commune = 'commune-actuelle'
),

-- One column per variable: `max(case …)`, which DuckDB computes twice as fast as
-- `max(…) filter (where …)`.
pivoted as (
    select
        millesime,
        annee,
        code_commune,
        max(case when variable = 'population' then valeur end) as population,
        max(case when variable = 'naissances' then valeur end) as naissances,
        max(case when variable = 'deces' then valeur end) as deces,
        max(case when variable in ('naissances', 'deces') then annee_debut_periode end)
            as annee_debut_periode,
        max(case when variable = 'logements' then valeur end) as logements,
        max(case when variable = 'residences_principales' then valeur end)
            as residences_principales,
        max(case when variable = 'residences_secondaires' then valeur end)
            as residences_secondaires,
        max(case when variable = 'logements_vacants' then valeur end) as logements_vacants,
        raisons_absence_liste(variable, raison_absence) as raisons_absence,
        max(geographie) as geographie_source
    from valeurs
    group by millesime, annee, code_commune
),

periods as (
    select
        *,
        lag(annee) over (partition by code_commune order by annee) as annee_precedente,
        lag(population) over (partition by code_commune order by annee) as population_precedente
    from pivoted
),

final as (
    select
        periods.millesime,
        periods.annee,
        periods.code_commune,
        communes.nom_commune,
        communes.code_epci,
        communes.nom_epci,
        communes.code_departement,
        coalesce(communes.is_mel, false) as is_mel,
        communes.code_commune is not null as dans_cog,
        population,
        logements,
        residences_principales,
        residences_secondaires,
        logements_vacants,
        round(100 * logements_vacants / nullif(logements, 0), 1) as part_logements_vacants,
        coalesce(annee_debut_periode, annee_precedente) as annee_precedente,
        naissances,
        deces,
        round(
            1000 * naissances / nullif(annee - coalesce(annee_debut_periode, annee_precedente), 0)
            / nullif((population + population_precedente) / 2, 0),
            2
        ) as taux_natalite,
        round(
            1000 * deces / nullif(annee - coalesce(annee_debut_periode, annee_precedente), 0)
            / nullif((population + population_precedente) / 2, 0),
            2
        ) as taux_mortalite,
        raisons_absence,
        geographie_source
    from periods
    left join communes using (code_commune)
)

select * from final
order by annee, code_commune
