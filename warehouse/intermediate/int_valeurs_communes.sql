-- Every value of the per-commune files (census base-cc files, comparateur, populations
-- légales, série historique, Filosofi), in the geography of the run, one row per
-- source, millésime, year, commune and variable (long format).
--
-- 1. Geography: each file is in the COG of its `geographie` (ref.geographies, from the
--    registry); its codes are expressed in the run's COG with
--    intermediate.int_passage_communes. Municipal arrondissements (Paris, Marseille,
--    Lyon: `arrondissement-municipal` in the COG) are dropped, their commune (75056,
--    13055, 69123) being in the files too: never counted twice.
-- 2. Merged communes: values of the old codes are added to the current commune. A
--    masked value (secret statistique…) anywhere makes the sum NULL, with its reason;
--    an empty cell of an absorbed commune (a row INSEE keeps, empty, after a merger)
--    adds nothing. A commune split since the file (rétablissement) gets NULL with the
--    reason: its figures are never apportioned. A non-additive variable (a median, a
--    rate: `additive: false` in the registry) of a commune made of several is NULL,
--    with its reason.
-- materialized: view
with situees as (
    select * from intermediate.int_valeurs_situees
),

-- Almost every commune: its rows as located.
unchanged as (
    select
        source_id,
        millesime,
        annee,
        code_commune,
        theme,
        variable,
        libelle,
        unite,
        annee_debut_periode,
        valeur,
        raison_absence,
        geographie,
        code_origine as codes_origine,
        source_id as sources,
        code_indicateur as codes_indicateur
    from situees
    where not a_fusionner
),

final as (
    select * from unchanged
    union all by name
    select * from intermediate.int_valeurs_fusionnees
)

select * from final
