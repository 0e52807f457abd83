-- Maisons et appartements, en part des logements : la commune et toute la MEL.
with
source as (
    select * from marts.logement
    -- the latest millésime holding this chart's figures (or why they are missing):
    -- a newer one may carry only the legal populations so far
    where millesime = (
        select max(millesime) from marts.logement
        where code_commune = $code_commune
            and (maisons is not null or raison(raisons_absence, 'maisons') is not null)
    )
),

territoires as (
    select
        millesime,
        nom_commune as territoire,
        1 as ordre_territoire,
        logements,
        maisons,
        appartements,
        raisons_absence
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime),
        'Ensemble de la MEL',
        2,
        somme_complete(logements),
        somme_complete(maisons),
        somme_complete(appartements),
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
        part(parts.effectif, logements) as valeur,
        raison(raisons_absence, parts.variable) as raison_absence
    from territoires
    cross join lateral (
        values
            (1, 'Maisons', 'maisons', maisons),
            (2, 'Appartements', 'appartements', appartements)
    ) as parts (ordre, categorie, variable, effectif)
)

select * from final
