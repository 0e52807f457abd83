-- Indice de vieillissement de la commune à chaque recensement depuis 1968
-- (Observatoire des territoires, d'après les séries historiques du recensement).
with
source as (
    select * from marts.observatoire
    where list_contains($codes, code_commune) and code_indicateur = 'ind_vieill' and sexe = 'ensemble'
    qualify millesime_extraction = max(millesime_extraction) over (partition by code_commune)
),

final as (
    select
        code_commune,
        max(annee) over (partition by code_commune) as millesime,
        nom_commune as territoire,
        1 as ordre_territoire,
        cast(annee as varchar) as categorie,
        annee as ordre,
        valeur,
        raison_absence
    from source
    where annee is not null
)

select * from final
