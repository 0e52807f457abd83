-- Households and families per commune and census millésime (COG of the run), with
-- `is_mel`. Counts are INSEE's weighted estimates (decimals); NULL values have their
-- reason in `raisons_absence`.
--   part_familles_monoparentales: % of families; evolution_part_monoparentales: change
--     in points since the previous millésime in the warehouse (NULL for the first);
--   part_80_ans_plus_seules / part_65_79_ans_seules: % of the age group living alone
--     (the base-cc files give no 75+ band and no split by sex);
--   ecart_types_familles: familles − (couples avec et sans enfants + monoparentales).
with valeurs as (
    select * from intermediate.int_recensement where theme = 'familles'
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
        max(case when variable = 'menages' then valeur end) as menages,
        max(case when variable = 'menages_une_personne' then valeur end) as menages_une_personne,
        max(case when variable = 'menages_avec_famille' then valeur end) as menages_avec_famille,
        max(case when variable = 'population_des_menages' then valeur end)
            as population_des_menages,
        max(case when variable = 'familles' then valeur end) as familles,
        max(case when variable = 'couples_avec_enfants' then valeur end) as couples_avec_enfants,
        max(case when variable = 'couples_sans_enfant' then valeur end) as couples_sans_enfant,
        max(case when variable = 'familles_monoparentales' then valeur end)
            as familles_monoparentales,
        max(case when variable = 'pop_65_79' then valeur end) as pop_65_79,
        max(case when variable = 'pop_65_79_seules' then valeur end) as pop_65_79_seules,
        max(case when variable = 'pop_80_plus' then valeur end) as pop_80_plus,
        max(case when variable = 'pop_80_plus_seules' then valeur end) as pop_80_plus_seules,
        raisons_absence_liste(variable, raison_absence) as raisons_absence,
        sources_liste(sources) as sources,
        max(geographie) as geographie_source
    from valeurs
    group by millesime, code_commune
),

shares as (
    select
        *,
        round(100 * familles_monoparentales / nullif(familles, 0), 1)
            as part_familles_monoparentales,
        round(100 * menages_une_personne / nullif(menages, 0), 1) as part_menages_une_personne,
        round(100 * pop_65_79_seules / nullif(pop_65_79, 0), 1) as part_65_79_ans_seules,
        round(100 * pop_80_plus_seules / nullif(pop_80_plus, 0), 1) as part_80_ans_plus_seules
    from pivoted
),

final as (
    select
        shares.millesime,
        shares.code_commune,
        communes.nom_commune,
        communes.code_epci,
        communes.nom_epci,
        communes.code_departement,
        coalesce(communes.is_mel, false) as is_mel,
        communes.code_commune is not null as dans_cog,
        menages,
        menages_une_personne,
        menages_avec_famille,
        population_des_menages,
        familles,
        couples_avec_enfants,
        couples_sans_enfant,
        familles_monoparentales,
        part_familles_monoparentales,
        round(
            part_familles_monoparentales - lag(part_familles_monoparentales) over (
                partition by shares.code_commune order by shares.millesime
            ),
            1
        ) as evolution_part_monoparentales,
        part_menages_une_personne,
        pop_65_79,
        pop_65_79_seules,
        part_65_79_ans_seules,
        pop_80_plus,
        pop_80_plus_seules,
        part_80_ans_plus_seules,
        round(
            familles - (couples_avec_enfants + couples_sans_enfant + familles_monoparentales), 3
        ) as ecart_types_familles,
        raisons_absence,
        sources,
        geographie_source
    from shares
    left join communes using (code_commune)
)

select * from final
order by millesime, code_commune
