-- Indicators of the Observatoire des territoires per commune, year and sex (COG of the
-- run, `is_mel`), with their change and, where the same indicator is computed here from
-- the census, that value and the gap (the quality gate compares them).
--
-- - `evolution`: change since the previous year of the same indicator, sex and commune
--   (points for a share, units of the indicator otherwise); NULL for the first year.
-- - Comparison: `valeur_insee` is the value of `mart_insee.colonne_insee` (registry,
--   `insee:`) for the same commune and census millésime = `annee`, sex "ensemble" only;
--   `ecart_insee` = valeur − valeur_insee.
-- - A ratio cannot be added up: a row of a commune absorbed since the geography of the
--   export (code_origine ≠ code_commune) is left out of the mart (kept in staging).
with odt as (
    select * from intermediate.int_odt_indicateurs
    where code_origine = code_commune
),

insee as (
    select 'population' as mart_insee, 'indice_vieillissement' as colonne_insee,
        millesime as annee, code_commune, indice_vieillissement as valeur_insee
    from marts.population
    union all
    select 'population', 'taux_mortalite', millesime, code_commune, taux_mortalite
    from marts.population
    union all
    select 'familles', 'part_familles_monoparentales', millesime, code_commune,
        part_familles_monoparentales
    from marts.familles
    union all
    select 'logement', 'part_logements_vacants', millesime, code_commune,
        part_logements_vacants
    from marts.logement
),

communes as (
    select * from intermediate.int_communes where type_commune = 'commune-actuelle'
),

final as (
    select
        odt.code_indicateur,
        odt.libelle,
        odt.unite,
        odt.theme,
        odt.annee,
        odt.sexe,
        odt.code_commune,
        coalesce(communes.nom_commune, odt.nom_commune_odt) as nom_commune,
        communes.code_epci,
        communes.nom_epci,
        communes.code_departement,
        coalesce(communes.is_mel, false) as is_mel,
        communes.code_commune is not null as dans_cog,
        odt.valeur,
        odt.raison_absence,
        round(
            odt.valeur - lag(odt.valeur) over (
                partition by odt.code_indicateur, odt.sexe, odt.code_commune
                order by odt.annee
            ),
            2
        ) as evolution,
        case when insee.valeur_insee is not null then odt.mart_insee || '.' || odt.colonne_insee end
            as indicateur_insee,
        insee.valeur_insee,
        round(odt.valeur - insee.valeur_insee, 2) as ecart_insee,
        odt.format as format_export,
        odt.millesime_extraction,
        odt.geographie_source
    from odt
    left join communes using (code_commune)
    left join insee
        on odt.mart_insee = insee.mart_insee
        and odt.colonne_insee = insee.colonne_insee
        and odt.annee = insee.annee
        and odt.code_commune = insee.code_commune
        and odt.sexe = 'ensemble'
)

select * from final
order by code_indicateur, annee, sexe, code_commune
