-- Nombre de pièces des résidences principales, en part des résidences principales, pour la commune
-- et pour toute la MEL.
with
final as (
    select * from parts(
        $codes,
        'marts.logement',
        [
            {ordre: 1, categorie: '1 pièce', variable: 'rp_1_piece', total: 'residences_principales'},
            {ordre: 2, categorie: '2 pièces', variable: 'rp_2_pieces', total: 'residences_principales'},
            {ordre: 3, categorie: '3 pièces', variable: 'rp_3_pieces', total: 'residences_principales'},
            {ordre: 4, categorie: '4 pièces', variable: 'rp_4_pieces', total: 'residences_principales'},
            {ordre: 5, categorie: '5 pièces ou plus', variable: 'rp_5_pieces_plus', total: 'residences_principales'}
        ]
    )
)

select * from final
