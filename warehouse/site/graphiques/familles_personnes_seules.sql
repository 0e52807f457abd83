-- Part des ménages d'une personne, et des 65-79 ans et des 80 ans ou plus vivant seuls :
-- la commune et toute la MEL.
with
source as (
    select * from marts.familles
    -- the latest millésime holding this chart's figures (or why they are missing):
    -- a newer one may carry only the legal populations so far
    where millesime = (
        select max(millesime) from marts.familles
        where code_commune = $code_commune
            and (menages_une_personne is not null or raison(raisons_absence, 'menages_une_personne') is not null)
    )
),

territoires as (
    select
        millesime, nom_commune as territoire, 1 as ordre_territoire,
        menages, menages_une_personne, pop_65_79, pop_65_79_seules, pop_80_plus,
        pop_80_plus_seules, raisons_absence
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime), 'Ensemble de la MEL', 2,
        somme_complete(menages), somme_complete(menages_une_personne),
        somme_complete(pop_65_79), somme_complete(pop_65_79_seules),
        somme_complete(pop_80_plus), somme_complete(pop_80_plus_seules),
        null
    from source
    where is_mel
),

final as (
    select
        millesime,
        territoire,
        ordre_territoire,
        seuls.categorie,
        seuls.ordre,
        part(seuls.effectif, seuls.total) as valeur,
        raison(raisons_absence, seuls.variable) as raison_absence
    from territoires
    cross join lateral (
        values
            (1, 'Ménages d''une seule personne', 'menages_une_personne', menages_une_personne, menages),
            (2, '65-79 ans vivant seuls', 'pop_65_79_seules', pop_65_79_seules, pop_65_79),
            (3, '80 ans ou plus vivant seuls', 'pop_80_plus_seules', pop_80_plus_seules, pop_80_plus)
    ) as seuls (ordre, categorie, variable, effectif, total)
)

select * from final
