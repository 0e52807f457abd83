-- Part des couples avec enfants, sans enfant et des familles monoparentales parmi les
-- familles : la commune et toute la MEL.
with
source as (
    select * from marts.familles
    -- the latest millésime holding this chart's figures (or why they are missing):
    -- a newer one may carry only the legal populations so far
    where millesime = (
        select max(millesime) from marts.familles
        where code_commune = $code_commune
            and (familles is not null or raison(raisons_absence, 'familles') is not null)
    )
),

territoires as (
    select
        millesime, nom_commune as territoire, 1 as ordre_territoire,
        familles, couples_avec_enfants, couples_sans_enfant, familles_monoparentales,
        raisons_absence
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime), 'Ensemble de la MEL', 2,
        somme_complete(familles), somme_complete(couples_avec_enfants),
        somme_complete(couples_sans_enfant), somme_complete(familles_monoparentales),
        null
    from source
    where is_mel
),

final as (
    select
        millesime,
        territoire,
        ordre_territoire,
        types.categorie,
        types.ordre,
        part(types.effectif, familles) as valeur,
        raison(raisons_absence, types.variable) as raison_absence
    from territoires
    cross join lateral (
        values
            (1, 'Couples avec enfants', 'couples_avec_enfants', couples_avec_enfants),
            (2, 'Couples sans enfant', 'couples_sans_enfant', couples_sans_enfant),
            (3, 'Familles monoparentales', 'familles_monoparentales', familles_monoparentales)
    ) as types (ordre, categorie, variable, effectif)
)

select * from final
