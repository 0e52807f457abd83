-- Statut d'occupation des résidences principales, en part des résidences principales.
-- Les locataires d'un HLM sont compris dans les locataires. Commune et toute la MEL.
with
source as (
    select * from marts.logement
    -- the latest millésime holding this chart's figures (or why they are missing):
    -- a newer one may carry only the legal populations so far
    where millesime = (
        select max(millesime) from marts.logement
        where code_commune = $code_commune
            and (rp_proprietaires is not null or raison(raisons_absence, 'rp_proprietaires') is not null)
    )
),

territoires as (
    select
        millesime,
        nom_commune as territoire,
        1 as ordre_territoire,
        residences_principales,
        rp_proprietaires,
        rp_locataires,
        rp_hlm,
        rp_loges_gratuitement,
        raisons_absence
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime),
        'Ensemble de la MEL',
        2,
        somme_complete(residences_principales),
        somme_complete(rp_proprietaires),
        somme_complete(rp_locataires),
        somme_complete(rp_hlm),
        somme_complete(rp_loges_gratuitement),
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
            (1, 'Propriétaires', 'rp_proprietaires', rp_proprietaires),
            (2, 'Locataires', 'rp_locataires', rp_locataires),
            (3, 'dont locataires d''un HLM', 'rp_hlm', rp_hlm),
            (4, 'Logés gratuitement', 'rp_loges_gratuitement', rp_loges_gratuitement)
    ) as parts (ordre, categorie, variable, effectif)
)

select * from final
