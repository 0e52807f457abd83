-- Part des personnes de 75 ans ou plus vivant seules dans la commune, ensemble et par
-- sexe (Observatoire des territoires, d'après le recensement). Pas de chiffre pour
-- toute la MEL : l'export ne donne que des parts communales.
with
source as (
    select * from marts.observatoire
    where code_commune = $code_commune and code_indicateur = 'part_75p_seuls'
    qualify millesime_extraction = max(millesime_extraction) over ()
),

final as (
    select
        annee as millesime,
        nom_commune as territoire,
        1 as ordre_territoire,
        case sexe when 'femmes' then 'Femmes' when 'hommes' then 'Hommes' else 'Ensemble' end
            as categorie,
        case sexe when 'femmes' then 2 when 'hommes' then 3 else 1 end as ordre,
        valeur,
        raison_absence
    from source
    -- the latest year (the CSV export gives none: then its only values)
    qualify annee is not distinct from max(annee) over ()
)

select * from final
