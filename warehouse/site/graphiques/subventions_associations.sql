-- Montant accordé à chaque association l'année la plus récente publiée par la commune,
-- du plus grand au plus petit.
with
source as (
    select * from marts.subventions
    where list_contains($codes, code_commune)
    qualify annee = max(annee) over (partition by code_commune)
),

communes as (
    select code_commune, nom_commune from marts.communes
    where list_contains($codes, code_commune) and type_commune = 'commune-actuelle'
),

par_association as (
    select
        code_commune,
        annee,
        nombeneficiaire,
        sum(montant) as montant
    from source
    group by code_commune, annee, nombeneficiaire
),

final as (
    select
        par_association.code_commune,
        par_association.annee as millesime,
        communes.nom_commune as territoire,
        1 as ordre_territoire,
        par_association.nombeneficiaire as categorie,
        row_number() over (
            partition by par_association.code_commune
            order by par_association.montant desc, par_association.nombeneficiaire
        ) as ordre,
        cast(par_association.montant as double) as valeur,
        cast(null as varchar) as raison_absence
    from par_association
    left join communes using (code_commune)
)

select * from final
