-- Population municipale de la commune au dernier recensement et six ans plus tôt.
with
source as (
    select * from marts.population
    where list_contains($codes, code_commune)
        and population_6_ans_avant is not null
    -- the latest millésime with both counts: a newer one may carry only the legal
    -- populations so far
    qualify millesime = max(millesime) over (partition by code_commune)
),

final as (
    select
        code_commune,
        millesime,
        nom_commune as territoire,
        1 as ordre_territoire,
        annees.categorie,
        annees.ordre,
        annees.valeur,
        raison(raisons_absence, annees.variable) as raison_absence
    from source
    cross join lateral (
        values
            (1, cast(millesime - 6 as varchar), 'population_6_ans_avant', population_6_ans_avant),
            (2, cast(millesime as varchar), 'population', population)
    ) as annees (ordre, categorie, variable, valeur)
)

select * from final
