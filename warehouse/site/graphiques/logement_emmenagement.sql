-- Ancienneté d'emménagement des ménages, en part des ménages, pour la commune
-- et pour toute la MEL.
with
final as (
    select * from parts(
        $codes,
        'marts.logement',
        [
            {ordre: 1, categorie: 'Moins de 2 ans', variable: 'emmenages_moins_2_ans', total: 'menages'},
            {ordre: 2, categorie: '2 à 4 ans', variable: 'emmenages_2_4_ans', total: 'menages'},
            {ordre: 3, categorie: '5 à 9 ans', variable: 'emmenages_5_9_ans', total: 'menages'},
            {ordre: 4, categorie: '10 ans ou plus', variable: 'emmenages_10_ans_plus', total: 'menages'}
        ]
    )
)

select * from final
