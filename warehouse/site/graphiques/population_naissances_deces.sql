-- Taux de natalité et de mortalité annuels moyens (pour 1 000 habitants) sur les six
-- années avant le recensement, pour la commune et pour toute la MEL (calculée comme le
-- mart calcule celui d'une commune, sur les sommes des communes).
with
effectifs as (
    select * from effectifs(
        $codes,
        'marts.population',
        ['naissances_periode', 'deces_periode', 'population', 'population_6_ans_avant']
    )
),

territoires as (
    select
        code_commune,
        millesime,
        territoire,
        ordre_territoire,
        max(effectif) filter (where variable = 'naissances_periode') as naissances,
        max(effectif) filter (where variable = 'deces_periode') as deces,
        (
            max(effectif) filter (where variable = 'population')
            + max(effectif) filter (where variable = 'population_6_ans_avant')
        ) / 2 as population_moyenne,
        max(raison) filter (where variable = 'naissances_periode') as raison_naissances,
        max(raison) filter (where variable = 'deces_periode') as raison_deces
    from effectifs
    group by code_commune, millesime, territoire, ordre_territoire
),

final as (
    select
        code_commune,
        millesime,
        territoire,
        ordre_territoire,
        taux.categorie,
        taux.ordre,
        round(1000 * taux.evenements / 6 / nullif(population_moyenne, 0), 1) as valeur,
        taux.raison_absence
    from territoires
    cross join lateral (
        values
            (1, 'Naissances', naissances, raison_naissances),
            (2, 'Décès', deces, raison_deces)
    ) as taux (ordre, categorie, evenements, raison_absence)
)

select * from final
