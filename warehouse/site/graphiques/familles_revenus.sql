-- Part des ménages fiscaux imposés et taux de pauvreté (seuil de 60 %) : la commune et
-- la MEL. Ces taux ne s'additionnent pas : la MEL est la moyenne des communes où le
-- chiffre est diffusé, pondérée par leurs ménages fiscaux (une commune sous secret
-- statistique n'y compte pas).
with
source as (
    select
        millesime,
        code_commune,
        nom_commune,
        is_mel,
        max(valeur) filter (where variable = 'menages_fiscaux') as menages_fiscaux,
        max(valeur) filter (where variable = 'part_menages_imposes') as part_menages_imposes,
        max(raison_absence) filter (where variable = 'part_menages_imposes')
            as raison_menages_imposes,
        max(valeur) filter (where variable = 'taux_pauvrete') as taux_pauvrete,
        max(raison_absence) filter (where variable = 'taux_pauvrete') as raison_pauvrete
    from marts.comparateur
    where millesime = (
        select max(millesime) from marts.comparateur
        where code_commune = $code_commune
            and variable = 'taux_pauvrete'
            and (valeur is not null or raison_absence is not null)
    )
    group by all
),

territoires as (
    select
        millesime, nom_commune as territoire, 1 as ordre_territoire,
        part_menages_imposes, raison_menages_imposes, taux_pauvrete, raison_pauvrete
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime), 'Ensemble de la MEL', 2,
        round(sum(part_menages_imposes * menages_fiscaux) / sum(menages_fiscaux) filter (
            where part_menages_imposes is not null
        ), 1),
        null,
        round(sum(taux_pauvrete * menages_fiscaux) / sum(menages_fiscaux) filter (
            where taux_pauvrete is not null
        ), 1),
        null
    from source
    where is_mel
),

final as (
    select
        millesime,
        territoire,
        ordre_territoire,
        taux.categorie,
        taux.ordre,
        round(taux.valeur, 1) as valeur,
        taux.raison_absence
    from territoires
    cross join lateral (
        values
            (1, 'Ménages imposés', part_menages_imposes, raison_menages_imposes),
            (2, 'Ménages sous le seuil de pauvreté', taux_pauvrete, raison_pauvrete)
    ) as taux (ordre, categorie, valeur, raison_absence)
)

select * from final
