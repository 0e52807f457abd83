-- Part des ménages fiscaux imposés et taux de pauvreté (seuil de 60 %) de la commune.
-- Pas de chiffre pour toute la MEL : le fichier communal de l'INSEE ne le donne pas, et
-- il ne se déduit pas des communes (des taux, et plusieurs communes sous secret
-- statistique).
with
source as (
    select * from marts.comparateur
    where list_contains($codes, code_commune)
        and variable in ('part_menages_imposes', 'taux_pauvrete')
),

final as (
    select
        code_commune,
        millesime,
        nom_commune as territoire,
        1 as ordre_territoire,
        case variable
            when 'part_menages_imposes' then 'Ménages fiscaux imposés'
            else 'Personnes sous le seuil de pauvreté'
        end as categorie,
        case variable when 'part_menages_imposes' then 1 else 2 end as ordre,
        round(valeur, 1) as valeur,
        raison_absence
    from source
    -- the latest millésime where the commune has a figure (or why it is missing)
    qualify millesime = max(millesime) filter (
        where valeur is not null or raison_absence is not null
    ) over (partition by code_commune)
)

select * from final
