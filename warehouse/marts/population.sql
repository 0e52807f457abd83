-- Population per commune and census millésime (COG of the run), with `is_mel`:
-- sex and age bands, births and deaths of the six years before the millésime, and the
-- indicators the users charted, and the populations légales of the same year (a year
-- whose census files are not out yet has its populations légales only). Counts are
-- INSEE's weighted estimates (decimals); populations légales are whole numbers.
-- A NULL value has its reason in `raisons_absence` ("variable : raison").
--   population: the census population municipale (base-cc file or comparateur), else
--     the population municipale légale of the same year (the same INSEE figure);
--   indice_vieillissement: people aged 65+ per 100 people under 20;
--   part_75_ans_plus: % of the population aged 75 or more;
--   taux_mortalite / taux_natalite: deaths / births per year per 1 000 inhabitants,
--     over the six years before the millésime, of the mean of the two census
--     populations (millésime −6 and millésime);
--   ecart_tranches_age: population − sum of the seven age bands (rounding: within ±1);
--   ecart_sexes: population − (hommes + femmes);
--   evolution_annuelle_population: mean change per year, in %, since the previous
--     millésime of the warehouse for the commune (else since the population six, or
--     five before the 2019 edition, years before, from the same file); `evolution_depuis`
--     is the year compared with;
--   taux_mortalite / taux_natalite over five years for the editions up to 2018;
--   dans_cog: the code is a commune of the run's COG; geographie_source: the COG of the
--     files the row comes from.
with valeurs as (
    select * from intermediate.int_recensement where theme = 'population'
),

communes as (
    select * from intermediate.int_communes where type_commune = 'commune-actuelle'
),


-- One column per variable: `max(case …)`, which DuckDB computes twice as fast as
-- `max(…) filter (where …)`.
pivoted as (
    select
        millesime,
        code_commune,
        max(case when variable = 'population' then valeur end) as population,
        max(case when variable = 'population_6_ans_avant' then valeur end)
            as population_6_ans_avant,
        max(case when variable = 'population_5_ans_avant' then valeur end)
            as population_5_ans_avant,
        max(case when variable = 'hommes' then valeur end) as hommes,
        max(case when variable = 'femmes' then valeur end) as femmes,
        max(case when variable = 'pop_0_14' then valeur end) as pop_0_14,
        max(case when variable = 'pop_15_29' then valeur end) as pop_15_29,
        max(case when variable = 'pop_30_44' then valeur end) as pop_30_44,
        max(case when variable = 'pop_45_59' then valeur end) as pop_45_59,
        max(case when variable = 'pop_60_74' then valeur end) as pop_60_74,
        max(case when variable = 'pop_75_89' then valeur end) as pop_75_89,
        max(case when variable = 'pop_90_plus' then valeur end) as pop_90_plus,
        max(case when variable = 'hommes_0_14' then valeur end) as hommes_0_14,
        max(case when variable = 'hommes_15_29' then valeur end) as hommes_15_29,
        max(case when variable = 'hommes_30_44' then valeur end) as hommes_30_44,
        max(case when variable = 'hommes_45_59' then valeur end) as hommes_45_59,
        max(case when variable = 'hommes_60_74' then valeur end) as hommes_60_74,
        max(case when variable = 'hommes_75_89' then valeur end) as hommes_75_89,
        max(case when variable = 'hommes_90_plus' then valeur end) as hommes_90_plus,
        max(case when variable = 'femmes_0_14' then valeur end) as femmes_0_14,
        max(case when variable = 'femmes_15_29' then valeur end) as femmes_15_29,
        max(case when variable = 'femmes_30_44' then valeur end) as femmes_30_44,
        max(case when variable = 'femmes_45_59' then valeur end) as femmes_45_59,
        max(case when variable = 'femmes_60_74' then valeur end) as femmes_60_74,
        max(case when variable = 'femmes_75_89' then valeur end) as femmes_75_89,
        max(case when variable = 'femmes_90_plus' then valeur end) as femmes_90_plus,
        max(case when variable = 'hommes_0_19' then valeur end) as hommes_0_19,
        max(case when variable = 'hommes_20_64' then valeur end) as hommes_20_64,
        max(case when variable = 'hommes_65_plus' then valeur end) as hommes_65_plus,
        max(case when variable = 'femmes_0_19' then valeur end) as femmes_0_19,
        max(case when variable = 'femmes_20_64' then valeur end) as femmes_20_64,
        max(case when variable = 'femmes_65_plus' then valeur end) as femmes_65_plus,
        max(case when variable = 'naissances_periode' then valeur end) as naissances_periode,
        max(case when variable = 'deces_periode' then valeur end) as deces_periode,
        max(case when variable = 'naissances_5_ans' then valeur end) as naissances_5_ans,
        max(case when variable = 'deces_5_ans' then valeur end) as deces_5_ans,
        max(case when variable = 'population_municipale_legale' then valeur end)
            as population_municipale_legale,
        max(case when variable = 'population_comptee_a_part' then valeur end)
            as population_comptee_a_part,
        max(case when variable = 'population_totale' then valeur end) as population_totale,
        raisons_absence_liste(variable, raison_absence) as raisons_absence,
        sources_liste(sources) as sources,
        max(geographie) as geographie_source
    from valeurs
    group by millesime, code_commune
),

final as (
    select
        pivoted.millesime,
        pivoted.code_commune,
        communes.nom_commune,
        communes.code_epci,
        communes.nom_epci,
        communes.code_departement,
        coalesce(communes.is_mel, false) as is_mel,
        communes.code_commune is not null as dans_cog,
        coalesce(population, population_municipale_legale) as population,
        population_6_ans_avant,
        population_5_ans_avant,
        hommes,
        femmes,
        pop_0_14,
        pop_15_29,
        pop_30_44,
        pop_45_59,
        pop_60_74,
        pop_75_89,
        pop_90_plus,
        hommes_0_14,
        hommes_15_29,
        hommes_30_44,
        hommes_45_59,
        hommes_60_74,
        hommes_75_89,
        hommes_90_plus,
        femmes_0_14,
        femmes_15_29,
        femmes_30_44,
        femmes_45_59,
        femmes_60_74,
        femmes_75_89,
        femmes_90_plus,
        hommes_0_19,
        hommes_20_64,
        hommes_65_plus,
        femmes_0_19,
        femmes_20_64,
        femmes_65_plus,
        naissances_periode,
        deces_periode,
        naissances_5_ans,
        deces_5_ans,
        population_municipale_legale,
        population_comptee_a_part,
        population_totale,
        round(
            100 * (hommes_65_plus + femmes_65_plus) / nullif(hommes_0_19 + femmes_0_19, 0), 1
        ) as indice_vieillissement,
        round(100 * (pop_75_89 + pop_90_plus) / nullif(population, 0), 1) as part_75_ans_plus,
        round(
            coalesce(
                1000 * deces_periode / 6 / nullif((population + population_6_ans_avant) / 2, 0),
                1000 * deces_5_ans / 5 / nullif((population + population_5_ans_avant) / 2, 0)
            ),
            2
        ) as taux_mortalite,
        round(
            coalesce(
                1000 * naissances_periode / 6
                / nullif((population + population_6_ans_avant) / 2, 0),
                1000 * naissances_5_ans / 5 / nullif((population + population_5_ans_avant) / 2, 0)
            ),
            2
        ) as taux_natalite,
        round(
            population
            - (pop_0_14 + pop_15_29 + pop_30_44 + pop_45_59 + pop_60_74 + pop_75_89 + pop_90_plus),
            3
        ) as ecart_tranches_age,
        round(population - (hommes + femmes), 3) as ecart_sexes,
        coalesce(
            lag(pivoted.millesime) over par_commune,
            case when population_6_ans_avant is not null then pivoted.millesime - 6 end,
            case when population_5_ans_avant is not null then pivoted.millesime - 5 end
        ) as evolution_depuis,
        round(
            100 * (
                power(
                    coalesce(population, population_municipale_legale)
                    / nullif(
                        coalesce(
                            lag(coalesce(population, population_municipale_legale))
                                over par_commune,
                            population_6_ans_avant,
                            population_5_ans_avant
                        ),
                        0
                    ),
                    1 / (
                        pivoted.millesime
                        - coalesce(
                            lag(pivoted.millesime) over par_commune,
                            case when population_6_ans_avant is not null then pivoted.millesime - 6 end,
                            pivoted.millesime - 5
                        )
                    )
                )
                - 1
            ),
            2
        ) as evolution_annuelle_population,
        raisons_absence,
        sources,
        geographie_source
    from pivoted
    left join communes using (code_commune)
    window par_commune as (partition by pivoted.code_commune order by pivoted.millesime)
)

select * from final
order by millesime, code_commune
