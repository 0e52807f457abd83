-- Montant accordé à chaque association l'année la plus récente publiée par la commune,
-- du plus grand au plus petit.
with
source as (
    select * from marts.subventions
    where code_commune = $code_commune
    qualify annee = max(annee) over ()
),

commune as (
    select nom_commune from marts.communes
    where code_commune = $code_commune and type_commune = 'commune-actuelle'
),

par_association as (
    select
        annee,
        nombeneficiaire,
        sum(montant) as montant
    from source
    group by annee, nombeneficiaire
),

final as (
    select
        annee as millesime,
        (select nom_commune from commune) as territoire,
        1 as ordre_territoire,
        nombeneficiaire as categorie,
        row_number() over (order by montant desc, nombeneficiaire) as ordre,
        cast(montant as double) as valeur,
        cast(null as varchar) as raison_absence
    from par_association
)

select * from final
