-- Nombre de pièces des résidences principales, en part des résidences principales : la commune et toute la MEL.
with
source as (
    select * from marts.logement
    -- the latest millésime holding this chart's figures (or why they are missing):
    -- a newer one may carry only the legal populations so far
    where millesime = (
        select max(millesime) from marts.logement
        where code_commune = $code_commune
            and (rp_1_piece is not null or raison(raisons_absence, 'rp_1_piece') is not null)
    )
),

territoires as (
    select
        millesime,
        nom_commune as territoire,
        1 as ordre_territoire,
        residences_principales,
        rp_1_piece,
        rp_2_pieces,
        rp_3_pieces,
        rp_4_pieces,
        rp_5_pieces_plus,
        raisons_absence
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime),
        'Ensemble de la MEL',
        2,
        somme_complete(residences_principales),
        somme_complete(rp_1_piece),
        somme_complete(rp_2_pieces),
        somme_complete(rp_3_pieces),
        somme_complete(rp_4_pieces),
        somme_complete(rp_5_pieces_plus),
        null
    from source
    where is_mel
),

final as (
    select
        millesime,
        territoire,
        ordre_territoire,
        parts.categorie,
        parts.ordre,
        part(parts.effectif, residences_principales) as valeur,
        raison(raisons_absence, parts.variable) as raison_absence
    from territoires
    cross join lateral (
        values
            (1, '1 pièce', 'rp_1_piece', rp_1_piece),
            (2, '2 pièces', 'rp_2_pieces', rp_2_pieces),
            (3, '3 pièces', 'rp_3_pieces', rp_3_pieces),
            (4, '4 pièces', 'rp_4_pieces', rp_4_pieces),
            (5, '5 pièces ou plus', 'rp_5_pieces_plus', rp_5_pieces_plus)
    ) as parts (ordre, categorie, variable, effectif)
)

select * from final
