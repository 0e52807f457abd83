-- Population de la commune à chaque recensement depuis 1968 (séries historiques).
with
source as (
    select * from marts.serie_historique
    where list_contains($codes, code_commune)
    qualify millesime = max(millesime) over (partition by code_commune)
),

final as (
    select
        code_commune,
        millesime,
        nom_commune as territoire,
        1 as ordre_territoire,
        cast(annee as varchar) as categorie,
        annee as ordre,
        population as valeur,
        raison(raisons_absence, 'population') as raison_absence
    from source
)

select * from final
