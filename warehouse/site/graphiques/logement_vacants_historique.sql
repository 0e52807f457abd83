-- Part des logements vacants à chaque recensement depuis 1968 : la commune et toute la
-- MEL (sommes des communes, seulement les années où toutes sont renseignées).
with
source as (
    select * from marts.serie_historique
    where millesime = (select max(millesime) from marts.serie_historique where code_commune = $code_commune)
),

territoires as (
    select
        millesime, annee, nom_commune as territoire, 1 as ordre_territoire,
        logements_vacants, logements, raison(raisons_absence, 'logements_vacants') as raison_absence
    from source
    where code_commune = $code_commune
    union all
    select
        any_value(millesime), annee, 'Ensemble de la MEL', 2,
        somme_complete(logements_vacants), somme_complete(logements), null
    from source
    where is_mel
    group by annee
),

final as (
    select
        millesime,
        territoire,
        ordre_territoire,
        cast(annee as varchar) as categorie,
        annee as ordre,
        part(logements_vacants, logements) as valeur,
        raison_absence
    from territoires
)

select * from final
