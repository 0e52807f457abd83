-- Indice de vieillissement (personnes de 65 ans ou plus pour 100 de moins de 20 ans),
-- pour la commune et pour toute la MEL.
with
effectifs as (
    select * from effectifs(
        $codes,
        'marts.population',
        ['hommes_0_19', 'femmes_0_19', 'hommes_65_plus', 'femmes_65_plus']
    )
),

territoires as (
    select
        code_commune,
        millesime,
        territoire,
        ordre_territoire,
        max(effectif) filter (where variable = 'hommes_65_plus')
            + max(effectif) filter (where variable = 'femmes_65_plus') as seniors,
        max(effectif) filter (where variable = 'hommes_0_19')
            + max(effectif) filter (where variable = 'femmes_0_19') as jeunes,
        max(raison) as raison_absence
    from effectifs
    group by code_commune, millesime, territoire, ordre_territoire
),

final as (
    select
        code_commune,
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
