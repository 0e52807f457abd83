-- Ménages d'une personne (en part des ménages), 65-79 ans et 80 ans ou plus vivant
-- seuls (en part de leur tranche d'âge), pour la commune
-- et pour toute la MEL.
with
final as (
    select * from parts(
        $codes,
        'marts.familles',
        [
            {ordre: 1, categorie: 'Ménages d''une seule personne', variable: 'menages_une_personne', total: 'menages'},
            {ordre: 2, categorie: '65-79 ans vivant seuls', variable: 'pop_65_79_seules', total: 'pop_65_79'},
            {ordre: 3, categorie: '80 ans ou plus vivant seuls', variable: 'pop_80_plus_seules', total: 'pop_80_plus'}
        ]
    )
)

select * from final
