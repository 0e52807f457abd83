-- Comparateur de territoires, one row per commune, millésime and INSEE variable.
-- Masked or missing cells become NULL with the reason, never 0. Some columns use a
-- decimal comma ("71,0") and others a decimal point in the same file.
with source as (
    select * from raw.insee_comparateur
),

unpivoted as (
    -- Columns of another millésime are NULL for this row and dropped by UNPIVOT;
    -- an empty cell of the file is '' and kept, to be reported.
    unpivot source
    on columns(* exclude (CODGEO, _millesime, _sha256, _fichier, _ligne))
    into name code_indicateur value valeur_brute
),

cleaned as (
    select
        _millesime::integer as millesime,
        CODGEO::varchar as code_commune,
        code_indicateur,
        trim(valeur_brute) as valeur_brute,
        try_cast(replace(trim(valeur_brute), ',', '.') as double) as nombre,
        _fichier as fichier,
        _ligne as ligne
    from unpivoted
),

final as (
    select
        millesime,
        code_commune,
        code_indicateur,
        case
            when valeur_brute = '-9999' then null
            else nombre
        end as valeur,
        case
            when valeur_brute = '' then 'non renseignée (cellule vide)'
            when lower(valeur_brute) = 's' then 'secret statistique'
            when lower(valeur_brute) = 'nd' then 'non disponible'
            when valeur_brute = '-9999' then 'non classée'
            when nombre is null then 'valeur illisible : ' || valeur_brute
        end as raison_absence,
        valeur_brute,
        fichier,
        ligne
    from cleaned
)

select * from final
