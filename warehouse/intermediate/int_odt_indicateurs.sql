-- The Observatoire des territoires rows of staging.stg_odt_indicateurs in the run's COG:
-- each code goes through the table de passage from the API's geography (com2025). A
-- code split since then is attributed to no commune (NULL, `regle_passage` says why).
with indicateurs as (
    select * from staging.stg_odt_indicateurs
),

final as (
    select
        indicateurs.*,
        case
            when coalesce(passage.repartissable, true)
                then coalesce(passage.code_commune, indicateurs.code_origine)
        end as code_commune,
        passage.regle as regle_passage,
        geographies.geographie as geographie_source
    from indicateurs
    left join ref.geographies as geographies
        on geographies.source_id = 'odt_indicateurs'
        and indicateurs.millesime_extraction = geographies.millesime
    left join intermediate.int_passage_communes as passage
        on geographies.geographie = passage.geographie
        and indicateurs.code_origine = passage.code_origine
    qualify row_number() over (partition by indicateurs.fichier, indicateurs.ligne) = 1
)

select * from final
