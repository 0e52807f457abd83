-- Subsidies to associations, one row per subsidy, the 16 SCDL subventions 2.1.1 columns
-- in the schema's order, then the columns the publication uses without publishing them
-- (fiche `colonnes_internes`): the commune, its EPCI and MEL membership, the year, and the parts
-- of the SCDL file name (AAAAMMJJ_<SIREN attribuant>_<nom>.csv). AAAAMMJJ is the date of
-- the commune's latest decision: the data's own date, so that an unchanged file keeps
-- its name from one run to the next.
with subventions as (
    select * from staging.stg_subventions
),

communes as (
    select code_commune, code_epci, is_mel from intermediate.int_communes
    where type_commune = 'commune-actuelle'
),

final as (
    select
        s."nomAttribuant",
        s."idAttribuant",
        s."dateConvention",
        s."referenceDecision",
        s."nomBeneficiaire",
        s."idBeneficiaire",
        s."rnaBeneficiaire",
        s.objet,
        s.montant,
        s.nature,
        s."conditionsVersement",
        s."datesPeriodeVersement",
        s."idRAE",
        s."notificationUE",
        s."pourcentageSubvention",
        s."dispositifAide",
        s.code_commune,
        c.code_epci,
        coalesce(c.is_mel, false) as is_mel,
        s.annee,
        strftime(
            max(s."dateConvention") over (partition by s.code_commune), '%Y%m%d'
        ) as date_donnees,
        left(s."idAttribuant", 9) as siren_attribuant,
        -- « Commune de Sailly-lez-Lannoy » → commune-de-sailly-lez-lannoy
        trim(
            regexp_replace(lower(strip_accents(s."nomAttribuant")), '[^a-z0-9]+', '-', 'g'),
            '-'
        ) as nom_fichier
    from subventions as s
    left join communes as c using (code_commune)
)

select * from final
order by code_commune, annee, "dateConvention", "nomBeneficiaire", objet
