-- Total des subventions votées pour les associations, par année de décision.
with
source as (
    select * from marts.subventions
    where list_contains($codes, code_commune)
),

communes as (
    select code_commune, nom_commune from marts.communes
    where list_contains($codes, code_commune) and type_commune = 'commune-actuelle'
),

final as (
    select
        source.code_commune,
        source.annee as millesime,
        communes.nom_commune as territoire,
        1 as ordre_territoire,
        cast(source.annee as varchar) as categorie,
        source.annee as ordre,
        cast(sum(source.montant) as double) as valeur,
        cast(null as varchar) as raison_absence
    from source
    left join communes using (code_commune)
    group by source.code_commune, source.annee, communes.nom_commune
)

select * from final
