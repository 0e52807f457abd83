-- Part de chaque tranche d'âge dans la population : la commune et toute la MEL.
with
source as (
    select * from marts.population
    -- the latest millésime holding this chart's figures (or why they are missing):
    -- a newer one may carry only the legal populations so far
    where millesime = (
        select max(millesime) from marts.population
        where code_commune = $code_commune
            and (pop_0_14 is not null or raison(raisons_absence, 'pop_0_14') is not null)
    )
),

territoires as (
    select
        millesime, nom_commune as territoire, 1 as ordre_territoire,
        pop_0_14, pop_15_29, pop_30_44, pop_45_59, pop_60_74, pop_75_89, pop_90_plus,
        raisons_absence
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime), 'Ensemble de la MEL', 2,
        somme_complete(pop_0_14), somme_complete(pop_15_29), somme_complete(pop_30_44),
        somme_complete(pop_45_59), somme_complete(pop_60_74), somme_complete(pop_75_89),
        somme_complete(pop_90_plus),
        null
    from source
    where is_mel
),

final as (
    select
        millesime,
        territoire,
        ordre_territoire,
        ages.categorie,
        ages.ordre,
        part(
            ages.effectif,
            pop_0_14 + pop_15_29 + pop_30_44 + pop_45_59 + pop_60_74 + pop_75_89 + pop_90_plus
        ) as valeur,
        raison(raisons_absence, ages.variable) as raison_absence
    from territoires
    cross join lateral (
        values
            (1, 'Moins de 15 ans', 'pop_0_14', pop_0_14),
            (2, '15 à 29 ans', 'pop_15_29', pop_15_29),
            (3, '30 à 44 ans', 'pop_30_44', pop_30_44),
            (4, '45 à 59 ans', 'pop_45_59', pop_45_59),
            (5, '60 à 74 ans', 'pop_60_74', pop_60_74),
            (6, '75 à 89 ans', 'pop_75_89', pop_75_89),
            (7, '90 ans ou plus', 'pop_90_plus', pop_90_plus)
    ) as ages (ordre, categorie, variable, effectif)
)

select * from final
