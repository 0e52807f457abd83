-- Taux de natalité et de mortalité annuels moyens (pour 1 000 habitants) sur les six
-- années avant le recensement : la commune et toute la MEL, calculée comme le mart
-- calcule celui d'une commune.
with
source as (
    select * from marts.population
    -- the latest millésime holding this chart's figures (or why they are missing):
    -- a newer one may carry only the legal populations so far
    where millesime = (
        select max(millesime) from marts.population
        where code_commune = $code_commune
            and (naissances_periode is not null or raison(raisons_absence, 'naissances_periode') is not null)
    )
),

territoires as (
    select
        millesime,
        nom_commune as territoire,
        1 as ordre_territoire,
        naissances_periode,
        deces_periode,
        (population + population_6_ans_avant) / 2 as population_moyenne,
        raisons_absence
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime),
        'Ensemble de la MEL',
        2,
        somme_complete(naissances_periode),
        somme_complete(deces_periode),
        (somme_complete(population) + somme_complete(population_6_ans_avant)) / 2,
        null
    from source
    where is_mel
),

final as (
    select
        millesime,
        territoire,
        ordre_territoire,
        taux.categorie,
        taux.ordre,
        round(1000 * taux.evenements / 6 / nullif(population_moyenne, 0), 1) as valeur,
        raison(raisons_absence, taux.variable) as raison_absence
    from territoires
    cross join lateral (
        values
            (1, 'Naissances', 'naissances_periode', naissances_periode),
            (2, 'Décès', 'deces_periode', deces_periode)
    ) as taux (ordre, categorie, variable, evenements)
)

select * from final
