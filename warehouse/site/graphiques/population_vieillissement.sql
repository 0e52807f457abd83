-- Indice de vieillissement (personnes de 65 ans ou plus pour 100 de moins de 20 ans) :
-- la commune et toute la MEL.
with
source as (
    select * from marts.population
    -- the latest millésime holding this chart's figures (or why they are missing):
    -- a newer one may carry only the legal populations so far
    where millesime = (
        select max(millesime) from marts.population
        where code_commune = $code_commune
            and (hommes_0_19 is not null or raison(raisons_absence, 'hommes_0_19') is not null)
    )
),

territoires as (
    select
        millesime, nom_commune as territoire, 1 as ordre_territoire,
        hommes_65_plus + femmes_65_plus as seniors,
        hommes_0_19 + femmes_0_19 as jeunes,
        coalesce(raison(raisons_absence, 'hommes_65_plus'), raison(raisons_absence, 'hommes_0_19'))
            as raison_absence
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime), 'Ensemble de la MEL', 2,
        somme_complete(hommes_65_plus) + somme_complete(femmes_65_plus),
        somme_complete(hommes_0_19) + somme_complete(femmes_0_19),
        null
    from source
    where is_mel
),

final as (
    select
        millesime,
        territoire,
        ordre_territoire,
        'Indice de vieillissement' as categorie,
        1 as ordre,
        round(100 * seniors / nullif(jeunes, 0), 1) as valeur,
        raison_absence
    from territoires
)

select * from final
