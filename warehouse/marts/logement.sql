-- Housing per commune and census millésime (COG of the run), with `is_mel`. Counts
-- are INSEE's weighted estimates (decimals); NULL values have their reason in
-- `raisons_absence`. Shares are percentages:
--   of all dwellings: part_residences_principales, part_residences_secondaires,
--     part_logements_vacants, part_maisons, part_appartements;
--   of résidences principales: part_proprietaires, part_locataires, part_hlm
--     (locataires HLM, included in locataires), part_loges_gratuitement, and by number
--     of rooms (part_rp_1_piece … part_rp_5_pieces_plus);
--   of households: by time since moving in (part_emmenages_moins_2_ans …);
--   ecart_categories_logements: logements − (principales + secondaires + vacants).
with valeurs as (
    select * from intermediate.int_recensement where theme = 'logement'
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
        max(case when variable = 'logements' then valeur end) as logements,
        max(case when variable = 'residences_principales' then valeur end)
            as residences_principales,
        max(case when variable = 'residences_secondaires' then valeur end)
            as residences_secondaires,
        max(case when variable = 'logements_vacants' then valeur end) as logements_vacants,
        max(case when variable = 'maisons' then valeur end) as maisons,
        max(case when variable = 'appartements' then valeur end) as appartements,
        max(case when variable = 'rp_proprietaires' then valeur end) as rp_proprietaires,
        max(case when variable = 'rp_locataires' then valeur end) as rp_locataires,
        max(case when variable = 'rp_hlm' then valeur end) as rp_hlm,
        max(case when variable = 'rp_loges_gratuitement' then valeur end) as rp_loges_gratuitement,
        max(case when variable = 'rp_1_piece' then valeur end) as rp_1_piece,
        max(case when variable = 'rp_2_pieces' then valeur end) as rp_2_pieces,
        max(case when variable = 'rp_3_pieces' then valeur end) as rp_3_pieces,
        max(case when variable = 'rp_4_pieces' then valeur end) as rp_4_pieces,
        max(case when variable = 'rp_5_pieces_plus' then valeur end) as rp_5_pieces_plus,
        max(case when variable = 'menages_logement' then valeur end) as menages,
        max(case when variable = 'menages_emmenages_moins_2_ans' then valeur end)
            as emmenages_moins_2_ans,
        max(case when variable = 'menages_emmenages_2_4_ans' then valeur end) as emmenages_2_4_ans,
        max(case when variable = 'menages_emmenages_5_9_ans' then valeur end) as emmenages_5_9_ans,
        max(case when variable = 'menages_emmenages_10_ans_plus' then valeur end)
            as emmenages_10_ans_plus,
        raisons_absence_liste(variable, raison_absence) as raisons_absence,
        sources_liste(sources) as sources,
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
        logements,
        residences_principales,
        residences_secondaires,
        logements_vacants,
        maisons,
        appartements,
        rp_proprietaires,
        rp_locataires,
        rp_hlm,
        rp_loges_gratuitement,
        rp_1_piece,
        rp_2_pieces,
        rp_3_pieces,
        rp_4_pieces,
        rp_5_pieces_plus,
        menages,
        emmenages_moins_2_ans,
        emmenages_2_4_ans,
        emmenages_5_9_ans,
        emmenages_10_ans_plus,
        round(100 * residences_principales / nullif(logements, 0), 1)
            as part_residences_principales,
        round(100 * residences_secondaires / nullif(logements, 0), 1)
            as part_residences_secondaires,
        round(100 * logements_vacants / nullif(logements, 0), 1) as part_logements_vacants,
        round(100 * maisons / nullif(logements, 0), 1) as part_maisons,
        round(100 * appartements / nullif(logements, 0), 1) as part_appartements,
        round(100 * rp_proprietaires / nullif(residences_principales, 0), 1)
            as part_proprietaires,
        round(100 * rp_locataires / nullif(residences_principales, 0), 1) as part_locataires,
        round(100 * rp_hlm / nullif(residences_principales, 0), 1) as part_hlm,
        round(100 * rp_loges_gratuitement / nullif(residences_principales, 0), 1)
            as part_loges_gratuitement,
        round(100 * rp_1_piece / nullif(residences_principales, 0), 1) as part_rp_1_piece,
        round(100 * rp_2_pieces / nullif(residences_principales, 0), 1) as part_rp_2_pieces,
        round(100 * rp_3_pieces / nullif(residences_principales, 0), 1) as part_rp_3_pieces,
        round(100 * rp_4_pieces / nullif(residences_principales, 0), 1) as part_rp_4_pieces,
        round(100 * rp_5_pieces_plus / nullif(residences_principales, 0), 1)
            as part_rp_5_pieces_plus,
        round(100 * emmenages_moins_2_ans / nullif(menages, 0), 1)
            as part_emmenages_moins_2_ans,
        round(100 * emmenages_2_4_ans / nullif(menages, 0), 1) as part_emmenages_2_4_ans,
        round(100 * emmenages_5_9_ans / nullif(menages, 0), 1) as part_emmenages_5_9_ans,
        round(100 * emmenages_10_ans_plus / nullif(menages, 0), 1)
            as part_emmenages_10_ans_plus,
        round(
            logements - (residences_principales + residences_secondaires + logements_vacants), 3
        ) as ecart_categories_logements,
        raisons_absence,
        sources,
        geographie_source
    from pivoted
    left join communes using (code_commune)
)

select * from final
order by millesime, code_commune
