-- Melodi DS_RP_SERIE_HISTORIQUE: a long file (one row per place, measure, category and
-- census year) covering 1968 to the millésime. Only commune (COM) and arrondissement
-- (ARM) rows were loaded. Measures are renamed to the variables of the marts:
--   POP -> population; BRTH / DEATH -> naissances / deces of the period ending that
--   year; DWELLINGS by OCS: _T -> logements, DW_MAIN -> residences_principales,
--   DW_SEC_DW_OCC -> residences_secondaires, DW_VAC -> logements_vacants.
-- TIME_PERIOD is a year ("2022"), or a period ("2016-2021") for births and deaths.
-- A view, as every staging model of a per-commune file: its rows (one per cell) are read
-- once, by the intermediate model int_valeurs_situees; writing them to the warehouse
-- cost more than computing them (bench/load_census.py).
-- materialized: view
with source as (
    select * from raw.insee_serie_historique
),

mesures as (
    select * from (
        values
        ('POP', '_T', 'population', 'Population municipale', 'habitants'),
        ('BRTH', '_T', 'naissances', 'Naissances de la période intercensitaire', 'naissances'),
        ('DEATH', '_T', 'deces', 'Décès de la période intercensitaire', 'décès'),
        ('DWELLINGS', '_T', 'logements', 'Logements', 'logements'),
        ('DWELLINGS', 'DW_MAIN', 'residences_principales', 'Résidences principales', 'logements'),
        (
            'DWELLINGS', 'DW_SEC_DW_OCC', 'residences_secondaires',
            'Résidences secondaires et logements occasionnels', 'logements'
        ),
        ('DWELLINGS', 'DW_VAC', 'logements_vacants', 'Logements vacants', 'logements')
    ) as t (rp_measure, ocs, variable, libelle, unite)
),

final as (
    select
        'insee_serie_historique' as source_id,
        source._millesime::integer as millesime,
        source.GEO::varchar as code_origine,
        mesures.variable,
        mesures.libelle,
        mesures.unite,
        try_cast(regexp_extract(source.TIME_PERIOD, '(\d{4})$', 1) as integer) as annee,
        try_cast(
            nullif(regexp_extract(source.TIME_PERIOD, '^(\d{4})-\d{4}$', 1), '') as integer
        ) as annee_debut_periode,
        valeur_recensement(source.OBS_VALUE) as valeur,
        raison_absence_recensement(source.OBS_VALUE) as raison_absence,
        source._fichier as fichier,
        source._ligne as ligne
    from source
    inner join mesures
        on source.RP_MEASURE = mesures.rp_measure and coalesce(source.OCS, '_T') = mesures.ocs
)

select * from final
