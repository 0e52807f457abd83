-- Melodi DS_POPULATIONS_REFERENCE: the populations légales of the reference year (the
-- census millésime), one row per place and measure; only commune (COM) and
-- arrondissement (ARM) rows were loaded. PMUN -> population_municipale_legale,
-- PCAP -> population_comptee_a_part, PTOT -> population_totale.
-- A view, as every staging model of a per-commune file: its rows (one per cell) are read
-- once, by the intermediate model int_valeurs_situees; writing them to the warehouse
-- cost more than computing them (bench/load_census.py).
-- materialized: view
with source as (
    select * from raw.insee_populations_legales
),

mesures as (
    select * from (
        values
        ('PMUN', 'population_municipale_legale', 'Population municipale (population légale)'),
        ('PCAP', 'population_comptee_a_part', 'Population comptée à part (population légale)'),
        ('PTOT', 'population_totale', 'Population totale (population légale)')
    ) as t (popref_measure, variable, libelle)
),

final as (
    select
        'insee_populations_legales' as source_id,
        try_cast(source.TIME_PERIOD as integer) as millesime,
        source.GEO::varchar as code_origine,
        mesures.variable,
        mesures.libelle,
        'habitants' as unite,
        valeur_recensement(source.OBS_VALUE) as valeur,
        raison_absence_recensement(source.OBS_VALUE) as raison_absence
    from source
    inner join mesures on source.POPREF_MEASURE = mesures.popref_measure
)

select * from final
