-- Every value of the per-commune files (census base-cc files, comparateur, populations
-- légales, série historique, Filosofi) located in the geography of the run, one row per
-- source, millésime, year, file code and variable (long format), before the values of
-- merged communes are added up (intermediate model int_valeurs_fusionnees).
--
-- Each file is in the COG of its `geographie` (ref.geographies, from the registry); its
-- codes are expressed in the run's COG with intermediate.int_passage_communes
-- (`code_commune`; `code_rattache` when it changed). A commune split since the file
-- (rétablissement) gets NULL with the reason (`regle`): its figures are never
-- apportioned. Municipal arrondissements (Paris, Marseille, Lyon:
-- `arrondissement-municipal` in the COG) are dropped, their commune (75056, 13055,
-- 69123) being in the files too: never counted twice. `a_fusionner`: the row belongs
-- to a commune that absorbed another, or was split; its values are added up there.
with variables as (
    select * from ref.variables where variable is not null
),

arrondissements as (
    select code_commune from intermediate.int_communes
    where type_commune = 'arrondissement-municipal'
),

passage as (
    select * from intermediate.int_passage_communes
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
        valeurs.raison_absence,
        coalesce(variables.additive, true) as additive
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
        raison_absence,
        true as additive
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
        raison_absence,
        true as additive
    from staging.stg_insee_populations_legales
),

unioned as (
    select * from fichiers
    union all by name
    select * from populations_legales
    union all by name
    select * from serie_historique
),

-- Only a commune that absorbed another, or was split, has rows to add up or to mask:
-- the others (almost all) pass through as they are.
absorbing as (
    select distinct code_commune from passage
    where code_origine <> code_commune or not repartissable
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
        end as raison_absence
    from unioned
    left join ref.geographies as geographies using (source_id, millesime)
    left join passage
        on geographies.geographie = passage.geographie
        and unioned.code_origine = passage.code_origine
    where unioned.code_origine not in (select code_commune from arrondissements)
),

final as (
    select
        *,
        code_commune in (select code_commune from absorbing) as a_fusionner
    from located
)

select * from final
