-- Part des logements vacants à chaque recensement depuis 1968 : la commune et toute la
-- MEL (sommes des communes, seulement les années où toutes sont renseignées).
with
-- the latest edition of the series for each commune of the batch
dernier as (
    select code_commune, max(millesime) as millesime
    from marts.serie_historique
    where list_contains($codes, code_commune)
    group by code_commune
),

mel as (
    select
        millesime,
        annee,
        somme_complete(logements_vacants) as logements_vacants,
        somme_complete(logements) as logements
    from marts.serie_historique
    where is_mel and millesime in (select millesime from dernier)
    group by millesime, annee
),

territoires as (
    select
        serie.code_commune,
        serie.millesime,
        serie.annee,
        serie.nom_commune as territoire,
        1 as ordre_territoire,
        serie.logements_vacants,
        serie.logements,
        raison(serie.raisons_absence, 'logements_vacants') as raison_absence
    from marts.serie_historique as serie
    inner join dernier using (code_commune, millesime)
    union all
    select
        dernier.code_commune,
        mel.millesime,
        mel.annee,
        'Ensemble de la MEL',
        2,
        mel.logements_vacants,
        mel.logements,
        null
    from dernier
    inner join mel using (millesime)
),

final as (
    select
        code_commune,
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
