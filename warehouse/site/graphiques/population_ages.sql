-- Part de chaque tranche d'âge dans la population, pour la commune
-- et pour toute la MEL.
with
final as (
    select * from parts(
        $codes,
        'marts.population',
        [
            {ordre: 1, categorie: 'Moins de 15 ans', variable: 'pop_0_14', total: 'population'},
            {ordre: 2, categorie: '15 à 29 ans', variable: 'pop_15_29', total: 'population'},
            {ordre: 3, categorie: '30 à 44 ans', variable: 'pop_30_44', total: 'population'},
            {ordre: 4, categorie: '45 à 59 ans', variable: 'pop_45_59', total: 'population'},
            {ordre: 5, categorie: '60 à 74 ans', variable: 'pop_60_74', total: 'population'},
            {ordre: 6, categorie: '75 à 89 ans', variable: 'pop_75_89', total: 'population'},
            {ordre: 7, categorie: '90 ans ou plus', variable: 'pop_90_plus', total: 'population'}
        ]
    )
)

select * from final
