-- Every census value, in the geography of the run, one row per millésime, year,
-- commune and variable (long format, the input of the population, familles, logement
-- and serie_historique marts).
--
-- 1. Sources: the base-cc files, the comparateur (its count variables, kept when no
--    base-cc file of the same millésime has them), the populations légales and the
--    série historique.
-- 2. Geography: codes are translated with staging.stg_passage_communes; municipal
--    arrondissements (Paris 751xx, Marseille 132xx, Lyon 6938x) are dropped, their
--    commune (75056, 13055, 69123) being in the files too: never counted twice.
-- 3. Merged communes: values of the old codes are added to the current commune.
--    A masked value (secret statistique…) anywhere makes the sum NULL, with its reason;
--    an empty cell of an absorbed commune (a row INSEE keeps, empty, after a merger)
--    adds nothing.
with variables as (
    select * from ref.variables where variable is not null and theme is not null
),

base_cc as (
    select
        valeurs.source_id,
        valeurs.millesime,
        valeurs.millesime as annee,
        null::integer as annee_debut_periode,
        valeurs.code_origine,
        variables.theme,
        variables.variable,
        variables.libelle,
        variables.unite,
        valeurs.code_indicateur,
        valeurs.valeur,
        valeurs.raison_absence
    from staging.stg_insee_base_cc as valeurs
    inner join variables using (source_id, millesime, code_indicateur)
),

comparateur as (
    select
        'insee_comparateur' as source_id,
        valeurs.millesime,
        valeurs.millesime as annee,
        null::integer as annee_debut_periode,
        valeurs.code_commune as code_origine,
        variables.theme,
        variables.variable,
        variables.libelle,
        variables.unite,
        valeurs.code_indicateur,
        valeurs.valeur,
        valeurs.raison_absence
    from staging.stg_insee_comparateur as valeurs
    inner join variables
        on variables.source_id = 'insee_comparateur'
        and valeurs.millesime = variables.millesime
        and valeurs.code_indicateur = variables.code_indicateur
),

serie_historique as (
    select
        source_id,
        millesime,
        annee,
        annee_debut_periode,
        code_origine,
        'serie_historique' as theme,
        variable,
        libelle,
        unite,
        null as code_indicateur,
        valeur,
        raison_absence
    from staging.stg_insee_serie_historique
),

populations_legales as (
    select
        source_id,
        millesime,
        millesime as annee,
        null::integer as annee_debut_periode,
        code_origine,
        'population' as theme,
        variable,
        libelle,
        unite,
        null as code_indicateur,
        valeur,
        raison_absence
    from staging.stg_insee_populations_legales
),

-- A base-cc file wins over the comparateur for the same millésime and variable.
prioritised as (
    select * from base_cc
    union all by name
    select * from comparateur
    where not exists (
        select 1 from base_cc
        where base_cc.millesime = comparateur.millesime
        and base_cc.variable = comparateur.variable
        and base_cc.code_origine = comparateur.code_origine
    )
    union all by name
    select * from populations_legales
    union all by name
    select * from serie_historique
),

located as (
    select
        prioritised.*,
        coalesce(passage.code_commune, prioritised.code_origine) as code_commune,
        coalesce(passage.code_commune, prioritised.code_origine) <> prioritised.code_origine
            as code_rattache
    from prioritised
    left join staging.stg_passage_communes as passage using (code_origine)
    where not regexp_full_match(
        prioritised.code_origine, '751(0[1-9]|1[0-9]|20)|132(0[1-9]|1[0-6])|6938[1-9]'
    )
),

-- Only a commune that absorbed another has several rows to add up: the others (almost
-- all) pass through as they are, which keeps a national refresh fast. Duplicated codes
-- within a file are refused at load time (`unique_key` in the registry).
absorbing as (
    select distinct code_commune from staging.stg_passage_communes
    where code_origine <> code_commune
),

single as (
    select
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
        code_origine as codes_origine,
        source_id as sources,
        code_indicateur as codes_indicateur
    from located
    where code_commune not in (select code_commune from absorbing)
),

merged as (
    select
        millesime,
        annee,
        code_commune,
        theme,
        variable,
        any_value(libelle) as libelle,
        any_value(unite) as unite,
        any_value(annee_debut_periode) as annee_debut_periode,
        case
            when bool_or(
                valeur is null and not (code_rattache and raison_absence like 'non renseignée%')
            ) then null
            else sum(valeur)
        end as valeur,
        string_agg(distinct raison_absence, ' ; ' order by raison_absence) filter (
            where valeur is null and not (code_rattache and raison_absence like 'non renseignée%')
        ) as raison_absence,
        string_agg(distinct code_origine, ' ' order by code_origine) as codes_origine,
        string_agg(distinct source_id, ' ' order by source_id) as sources,
        string_agg(distinct code_indicateur, ' ' order by code_indicateur) as codes_indicateur
    from located
    where code_commune in (select code_commune from absorbing)
    group by millesime, annee, code_commune, theme, variable
),

final as (
    select * from single
    union all by name
    select * from merged
)

select * from final
