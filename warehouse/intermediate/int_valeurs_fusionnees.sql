-- The values of the communes that absorbed others (or were split) since the geography
-- of their file, one row per source, millésime, year, commune of the run's COG and
-- variable: the values of the old codes (intermediate model int_valeurs_situees) are
-- added to the current commune. A masked value (secret statistique…) anywhere makes
-- the sum NULL, with its reason; an empty cell of an absorbed commune (a row INSEE
-- keeps, empty, after a merger) adds nothing. A non-additive variable (a median, a
-- rate: `additive: false` in the registry) of a commune made of several is NULL, with
-- its reason. Duplicated codes within a file are refused at load time (`unique_key`).
with situees as (
    select * from intermediate.int_valeurs_situees
),

-- Distinct values as sorted lists (one aggregate each), rather than
-- `string_agg(distinct …)`, which DuckDB computes as one more grouping per column.
lists as (
    select
        source_id,
        millesime,
        annee,
        code_commune,
        theme,
        variable,
        any_value(libelle) as libelle,
        any_value(unite) as unite,
        any_value(annee_debut_periode) as annee_debut_periode,
        bool_or(
            valeur is null and not (code_rattache and raison_absence like 'non renseignée%')
        ) as manquante,
        bool_and(additive) as additive,
        -- Added in the order of the codes (that of the file), whatever the order the
        -- rows come in: the same sum, to the last digit, from one build to the next.
        list_sum(list(valeur order by code_origine)) as somme,
        list(raison_absence) filter (
            where valeur is null
            and not (code_rattache and raison_absence like 'non renseignée%')
        ) as raisons,
        max(geographie) as geographie,
        list_sort(list_distinct(list(code_origine))) as origines,
        list_sort(list_distinct(list(source_id))) as sources,
        list_sort(list_distinct(list(code_indicateur))) as indicateurs
    from situees
    where a_fusionner
    group by source_id, millesime, annee, code_commune, theme, variable
),

final as (
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
        case
            when manquante then null
            when not additive and len(origines) > 1 then null
            else somme
        end as valeur,
        coalesce(
            nullif(array_to_string(list_sort(list_distinct(raisons)), ' ; '), ''),
            case
                when not additive and len(origines) > 1
                    then 'commune formée de ' || len(origines)
                    || ' communes du fichier : valeur non additive'
            end
        ) as raison_absence,
        geographie,
        array_to_string(origines, ' ') as codes_origine,
        array_to_string(sources, ' ') as sources,
        nullif(array_to_string(indicateurs, ' '), '') as codes_indicateur
    from lists
)

select * from final
