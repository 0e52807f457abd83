-- Indice de vieillissement de la commune à chaque recensement depuis 1968
-- (Observatoire des territoires, d'après les séries historiques du recensement).
with
source as (
    select * from marts.observatoire
    where code_commune = $code_commune and code_indicateur = 'ind_vieill' and sexe = 'ensemble'
    qualify millesime_extraction = max(millesime_extraction) over ()
),

final as (
    select
        max(annee) over () as millesime,
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
