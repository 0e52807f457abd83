-- Income, poverty and standard of living per commune and Filosofi millésime (COG of the
-- run), one row per commune and millésime. A NULL value has its reason in
-- `raisons_absence` ("variable : raison"): secret statistique, non disponible, or a
-- median or rate of a commune formed of several communes of the file (never added up).
-- `geographie_source`: the COG of the file (2019: COG 2021; 2021: COG 2024).
with valeurs as (
    select * from intermediate.int_valeurs_communes where source_id = 'insee_filosofi'
),

communes as (
    select * from intermediate.int_communes where type_commune = 'commune-actuelle'
),

pivoted as (
    select
        millesime,
        code_commune,
        max(valeur) filter (where variable = 'menages_fiscaux') as menages_fiscaux,
        max(valeur) filter (where variable = 'personnes_menages_fiscaux')
            as personnes_menages_fiscaux,
        max(valeur) filter (where variable = 'mediane_niveau_vie') as mediane_niveau_vie,
        max(valeur) filter (where variable = 'premier_decile') as premier_decile,
        max(valeur) filter (where variable = 'neuvieme_decile') as neuvieme_decile,
        max(valeur) filter (where variable = 'rapport_interdecile') as rapport_interdecile,
        max(valeur) filter (where variable = 'part_menages_imposes') as part_menages_imposes,
        max(valeur) filter (where variable = 'taux_pauvrete') as taux_pauvrete,
        max(valeur) filter (where variable = 'taux_pauvrete_moins_30_ans')
            as taux_pauvrete_moins_30_ans,
        max(valeur) filter (where variable = 'taux_pauvrete_75_ans_plus')
            as taux_pauvrete_75_ans_plus,
        max(valeur) filter (where variable = 'taux_pauvrete_proprietaires')
            as taux_pauvrete_proprietaires,
        max(valeur) filter (where variable = 'taux_pauvrete_locataires')
            as taux_pauvrete_locataires,
        max(valeur) filter (where variable = 'revenus_activite_pct') as revenus_activite_pct,
        max(valeur) filter (where variable = 'pensions_pct') as pensions_pct,
        max(valeur) filter (where variable = 'prestations_sociales_pct')
            as prestations_sociales_pct,
        max(valeur) filter (where variable = 'minima_sociaux_pct') as minima_sociaux_pct,
        max(valeur) filter (where variable = 'impots_pct') as impots_pct,
        raisons_absence_liste(variable, raison_absence) as raisons_absence,
        string_agg(distinct codes_origine, ' ') as codes_origine,
        max(geographie) as geographie_source
    from valeurs
    group by millesime, code_commune
),

final as (
    select
        pivoted.millesime,
        pivoted.code_commune,
        communes.nom_commune,
        communes.code_epci,
        communes.nom_epci,
        communes.code_departement,
        coalesce(communes.is_mel, false) as is_mel,
        communes.code_commune is not null as dans_cog,
        pivoted.* exclude (millesime, code_commune)
    from pivoted
    left join communes using (code_commune)
)

select * from final
order by millesime, code_commune
