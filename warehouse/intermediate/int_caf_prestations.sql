-- The CAF rows of staging.stg_caf_prestations in the run's COG: each code goes through the
-- table de passage from the export's geography (ref.geographies).
with typed as (
    select * from staging.stg_caf_prestations
),

-- A code split since the export's geography (rétablissement) is attributed to no
-- commune (code_commune NULL, `regle_passage` says why): its figures are never guessed.
final as (
    select
        typed.*,
        case
            when coalesce(passage.repartissable, true)
                then caf_code_commune(type_code, typed.code_origine, passage.code_commune)
        end as code_commune,
        passage.regle as regle_passage,
        geographies.geographie as geographie_source
    from typed
    left join ref.geographies as geographies
        on geographies.source_id = 'caf_prestations' and typed.millesime_export = geographies.millesime
    left join intermediate.int_passage_communes as passage
        on geographies.geographie = passage.geographie
        and typed.code_origine = passage.code_origine
    qualify row_number() over (partition by typed.fichier, typed.ligne) = 1
)

select * from final
