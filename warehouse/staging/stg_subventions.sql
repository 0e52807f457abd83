-- Subsidies to associations, as validated against the SCDL subventions 2.1.1 schema by
-- the `subventions` flow: typed, nothing else. Text fields stay as the file has them.
with source as (
    select * from raw.subventions
),

renamed as (
    select
        code_commune,
        annee,
        "nomAttribuant",
        "idAttribuant",
        cast("dateConvention" as date) as "dateConvention",
        nullif("referenceDecision", '') as "referenceDecision",
        "nomBeneficiaire",
        nullif("idBeneficiaire", '') as "idBeneficiaire",
        nullif("rnaBeneficiaire", '') as "rnaBeneficiaire",
        objet,
        cast(montant as decimal(14, 2)) as montant,
        nature,
        "conditionsVersement",
        "datesPeriodeVersement",
        nullif("idRAE", '') as "idRAE",
        "notificationUE",
        "pourcentageSubvention",
        nullif("dispositifAide", '') as "dispositifAide",
        graphie,
        _fichier as lu_dans,
        _ligne as ligne_fichier
    from source
),

final as (
    select * from renamed
)

select * from final
