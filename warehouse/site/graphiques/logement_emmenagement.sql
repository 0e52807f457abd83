-- Ancienneté d'emménagement des ménages, en part des ménages : la commune et toute la MEL.
with
source as (
    select * from marts.logement
    -- the latest millésime holding this chart's figures (or why they are missing):
    -- a newer one may carry only the legal populations so far
    where millesime = (
        select max(millesime) from marts.logement
        where code_commune = $code_commune
            and (emmenages_moins_2_ans is not null or raison(raisons_absence, 'emmenages_moins_2_ans') is not null)
    )
),

territoires as (
    select
        millesime,
        nom_commune as territoire,
        1 as ordre_territoire,
        menages,
        emmenages_moins_2_ans,
        emmenages_2_4_ans,
        emmenages_5_9_ans,
        emmenages_10_ans_plus,
        raisons_absence
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime),
        'Ensemble de la MEL',
        2,
        somme_complete(menages),
        somme_complete(emmenages_moins_2_ans),
        somme_complete(emmenages_2_4_ans),
        somme_complete(emmenages_5_9_ans),
        somme_complete(emmenages_10_ans_plus),
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
        part(parts.effectif, menages) as valeur,
        raison(raisons_absence, parts.variable) as raison_absence
    from territoires
    cross join lateral (
        values
            (1, 'Moins de 2 ans', 'emmenages_moins_2_ans', emmenages_moins_2_ans),
            (2, '2 à 4 ans', 'emmenages_2_4_ans', emmenages_2_4_ans),
            (3, '5 à 9 ans', 'emmenages_5_9_ans', emmenages_5_9_ans),
            (4, '10 ans ou plus', 'emmenages_10_ans_plus', emmenages_10_ans_plus)
    ) as parts (ordre, categorie, variable, effectif)
)

select * from final
