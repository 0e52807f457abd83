-- Couples avec enfants, sans enfant et familles monoparentales, en part des familles, pour la commune
-- et pour toute la MEL.
with
final as (
    select * from parts(
        $codes,
        'marts.familles',
        [
            {ordre: 1, categorie: 'Couples avec enfants', variable: 'couples_avec_enfants', total: 'familles'},
            {ordre: 2, categorie: 'Couples sans enfant', variable: 'couples_sans_enfant', total: 'familles'},
            {ordre: 3, categorie: 'Familles monoparentales', variable: 'familles_monoparentales', total: 'familles'}
        ]
    )
)

select * from final
