-- INSEE's movements of communes (v_mvt_commune): one row per event and commune, before
-- and after. Rename and cast only; the table de passage follows them.
with source as (
    select * from raw.cog_mouvements
),

final as (
    select
        MOD::integer as mod,
        DATE_EFF::date as date_effet,
        TYPECOM_AV::varchar as type_avant,
        COM_AV::varchar as code_avant,
        LIBELLE_AV::varchar as nom_avant,
        TYPECOM_AP::varchar as type_apres,
        COM_AP::varchar as code_apres,
        LIBELLE_AP::varchar as nom_apres,
        _millesime::integer as millesime_fichier
    from source
    where _millesime = (select max(_millesime) from source)
)

select * from final
