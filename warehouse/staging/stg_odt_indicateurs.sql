-- Observatoire des territoires: every indicator of the registry, one row per commune
-- code, year, sex and indicator (the loader normalised CSV and XLSX files to this
-- long layout). Values stay NULL with their reason, never 0:
--   -9999  -> 'non classée (-9999)';
--   empty  -> 'vide : zéro ou secret statistique' (the export does not tell them apart);
-- `annee` is NULL for a CSV export, which gives the last year without naming it.
-- Codes go through the table de passage in the intermediate model int_odt_indicateurs.
with raw_rows as (
    select * from raw.odt_indicateurs
),

definitions as (
    select * from ref.indicateurs where source_id = 'odt_indicateurs'
),

final as (
    select
        raw_rows.indicateur as code_indicateur,
        definitions.libelle,
        definitions.unite,
        definitions.theme,
        definitions.format,
        try_cast(nullif(trim(raw_rows.an), '') as integer) as annee,
        case
            when trim(coalesce(raw_rows.sexe, '')) in ('', 'Ensemble', 'ensemble', 'T')
                then 'ensemble'
            when lower(trim(raw_rows.sexe)) in ('hommes', 'homme', 'h', '1') then 'hommes'
            when lower(trim(raw_rows.sexe)) in ('femmes', 'femme', 'f', '2') then 'femmes'
            else lower(trim(raw_rows.sexe))
        end as sexe,
        raw_rows.codgeo as code_origine,
        raw_rows.libgeo as nom_commune_odt,
        valeur_recensement(raw_rows.valeur) as valeur,
        case
            when trim(raw_rows.valeur) = '-9999' then 'non classée (-9999)'
            when trim(coalesce(raw_rows.valeur, '')) = ''
                then 'vide : zéro ou secret statistique (indiscernables dans l''export)'
            when valeur_recensement(raw_rows.valeur) is null
                then 'valeur illisible : ' || trim(raw_rows.valeur)
        end as raison_absence,
        definitions.mart_insee,
        definitions.colonne_insee,
        raw_rows._millesime as millesime_extraction,
        raw_rows._fichier as fichier,
        raw_rows._ligne as ligne
    from raw_rows
    left join definitions on raw_rows.indicateur = definitions.code_indicateur
)

select * from final
