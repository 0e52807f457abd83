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
with variables as (
    select * from ref.variables where variable is not null
),

arrondissements as (
    select code_commune from intermediate.int_communes
    where type_commune = 'arrondissement-municipal'
),

-- The files with one row per commune (base-cc, comparateur, Filosofi), by the code of
-- each column in its millésime's edition (ref.variables, from the registry).
une_ligne_par_commune as (
    select source_id, millesime, code_origine, code_indicateur, valeur, raison_absence
    from staging.stg_insee_base_cc
    union all
    select 'insee_comparateur', millesime, code_commune, code_indicateur, valeur, raison_absence
    from staging.stg_insee_comparateur
    union all
    select 'insee_filosofi', millesime, code_origine, code_indicateur, valeur, raison_absence
    from staging.stg_insee_filosofi
),

fichiers as (
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
    from une_ligne_par_commune as valeurs
    inner join variables using (source_id, millesime, code_indicateur)
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

unioned as (
    select * from fichiers
    union all by name
    select * from populations_legales
    union all by name
    select * from serie_historique
),

located as (
    select
        unioned.* exclude (valeur, raison_absence),
        geographies.geographie,
        coalesce(passage.code_commune, unioned.code_origine) as code_commune,
        coalesce(passage.code_commune, unioned.code_origine) <> unioned.code_origine
            as code_rattache,
        case when coalesce(passage.repartissable, true) then unioned.valeur end as valeur,
        case
            when coalesce(passage.repartissable, true) then unioned.raison_absence
            else passage.regle
        end as raison_absence,
        coalesce(variables.additive, true) as additive
    from unioned
    left join ref.geographies as geographies using (source_id, millesime)
    left join intermediate.int_passage_communes as passage
        on geographies.geographie = passage.geographie
        and unioned.code_origine = passage.code_origine
    left join variables using (source_id, millesime, code_indicateur)
    where unioned.code_origine not in (select code_commune from arrondissements)
),

-- Only a commune that absorbed another, or was split, has rows to add up or to mask:
-- the others (almost all) pass through as they are, which keeps a national refresh
-- fast. Duplicated codes within a file are refused at load time (`unique_key`).
absorbing as (
    select distinct code_commune from intermediate.int_passage_communes
    where code_origine <> code_commune or not repartissable
),

single as (
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
    from located
    where code_commune not in (select code_commune from absorbing)
),

merged as (
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
        case
            when bool_or(
                valeur is null and not (code_rattache and raison_absence like 'non renseignée%')
            ) then null
            when not bool_and(additive) and count(distinct code_origine) > 1 then null
            else sum(valeur)
        end as valeur,
        coalesce(
            string_agg(distinct raison_absence, ' ; ' order by raison_absence) filter (
                where valeur is null
                and not (code_rattache and raison_absence like 'non renseignée%')
            ),
            case
                when not bool_and(additive) and count(distinct code_origine) > 1
                    then 'commune formée de ' || count(distinct code_origine)
                    || ' communes du fichier : valeur non additive'
            end
        ) as raison_absence,
        max(geographie) as geographie,
        string_agg(distinct code_origine, ' ' order by code_origine) as codes_origine,
        string_agg(distinct source_id, ' ' order by source_id) as sources,
        string_agg(distinct code_indicateur, ' ' order by code_indicateur) as codes_indicateur
    from located
    where code_commune in (select code_commune from absorbing)
    group by source_id, millesime, annee, code_commune, theme, variable
),

final as (
    select * from single
    union all by name
    select * from merged
)

select * from final
