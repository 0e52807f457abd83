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

-- One column per variable: `max(case …)`, which DuckDB computes twice as fast as
-- `max(…) filter (where …)`.
pivoted as (
    select
        millesime,
        code_commune,
        max(case when variable = 'menages_fiscaux' then valeur end) as menages_fiscaux,
        max(case when variable = 'personnes_menages_fiscaux' then valeur end)
            as personnes_menages_fiscaux,
        max(case when variable = 'mediane_niveau_vie' then valeur end) as mediane_niveau_vie,
        max(case when variable = 'premier_decile' then valeur end) as premier_decile,
        max(case when variable = 'neuvieme_decile' then valeur end) as neuvieme_decile,
        max(case when variable = 'rapport_interdecile' then valeur end) as rapport_interdecile,
        max(case when variable = 'part_menages_imposes' then valeur end) as part_menages_imposes,
        max(case when variable = 'taux_pauvrete' then valeur end) as taux_pauvrete,
        max(case when variable = 'taux_pauvrete_moins_30_ans' then valeur end)
            as taux_pauvrete_moins_30_ans,
        max(case when variable = 'taux_pauvrete_75_ans_plus' then valeur end)
            as taux_pauvrete_75_ans_plus,
        max(case when variable = 'taux_pauvrete_proprietaires' then valeur end)
            as taux_pauvrete_proprietaires,
        max(case when variable = 'taux_pauvrete_locataires' then valeur end)
            as taux_pauvrete_locataires,
        max(case when variable = 'revenus_activite_pct' then valeur end) as revenus_activite_pct,
        max(case when variable = 'pensions_pct' then valeur end) as pensions_pct,
        max(case when variable = 'prestations_sociales_pct' then valeur end)
            as prestations_sociales_pct,
        max(case when variable = 'minima_sociaux_pct' then valeur end) as minima_sociaux_pct,
        max(case when variable = 'impots_pct' then valeur end) as impots_pct,
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
