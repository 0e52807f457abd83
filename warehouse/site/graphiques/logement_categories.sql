-- Résidences principales, secondaires et logements vacants, en part des logements, pour la commune
-- et pour toute la MEL.
with
final as (
    select * from parts(
        $codes,
        'marts.logement',
        [
            {ordre: 1, categorie: 'Résidences principales', variable: 'residences_principales', total: 'logements'},
            {ordre: 2, categorie: 'Résidences secondaires', variable: 'residences_secondaires', total: 'logements'},
            {ordre: 3, categorie: 'Logements vacants', variable: 'logements_vacants', total: 'logements'}
        ]
    )
)

select * from final
