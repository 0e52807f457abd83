-- Statut d'occupation des résidences principales, en part des résidences principales
-- (les locataires d'un HLM sont compris dans les locataires), pour la commune
-- et pour toute la MEL.
with
final as (
    select * from parts(
        $codes,
        'marts.logement',
        [
            {ordre: 1, categorie: 'Propriétaires', variable: 'rp_proprietaires', total: 'residences_principales'},
            {ordre: 2, categorie: 'Locataires', variable: 'rp_locataires', total: 'residences_principales'},
            {ordre: 3, categorie: 'dont locataires d''un HLM', variable: 'rp_hlm', total: 'residences_principales'},
            {ordre: 4, categorie: 'Occupants logés gratuitement', variable: 'rp_loges_gratuitement', total: 'residences_principales'}
        ]
    )
)

select * from final
