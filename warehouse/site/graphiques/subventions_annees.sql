-- Total des subventions votées pour les associations, par année de décision.
with
source as (
    select * from marts.subventions
    where code_commune = $code_commune
),

commune as (
    select nom_commune from marts.communes
    where code_commune = $code_commune and type_commune = 'commune-actuelle'
),

final as (
    select
        annee as millesime,
        (select nom_commune from commune) as territoire,
        1 as ordre_territoire,
        cast(annee as varchar) as categorie,
        annee as ordre,
        cast(sum(montant) as double) as valeur,
        cast(null as varchar) as raison_absence
    from source
    group by annee
)

select * from final
