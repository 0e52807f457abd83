-- Résidences principales, secondaires et logements vacants, en part des logements : la commune et toute la MEL.
with
source as (
    select * from marts.logement
    -- the latest millésime holding this chart's figures (or why they are missing):
    -- a newer one may carry only the legal populations so far
    where millesime = (
        select max(millesime) from marts.logement
        where code_commune = $code_commune
            and (residences_principales is not null or raison(raisons_absence, 'residences_principales') is not null)
    )
),

territoires as (
    select
        millesime,
        nom_commune as territoire,
        1 as ordre_territoire,
        logements,
        residences_principales,
        residences_secondaires,
        logements_vacants,
        raisons_absence
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime),
        'Ensemble de la MEL',
        2,
        somme_complete(logements),
        somme_complete(residences_principales),
        somme_complete(residences_secondaires),
        somme_complete(logements_vacants),
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
            (1, 'Résidences principales', 'residences_principales', residences_principales),
            (2, 'Résidences secondaires', 'residences_secondaires', residences_secondaires),
            (3, 'Logements vacants', 'logements_vacants', logements_vacants)
    ) as parts (ordre, categorie, variable, effectif)
)

select * from final
