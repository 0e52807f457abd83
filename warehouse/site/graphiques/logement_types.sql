-- Maisons et appartements, en part des logements, pour la commune
-- et pour toute la MEL.
with
final as (
    select * from parts(
        $codes,
        'marts.logement',
        [
            {ordre: 1, categorie: 'Maisons', variable: 'maisons', total: 'logements'},
            {ordre: 2, categorie: 'Appartements', variable: 'appartements', total: 'logements'}
        ]
    )
)

select * from final
