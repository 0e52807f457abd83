-- CAF, "Toutes prestations [Communal]" (s_ben_com_f): households (foyers allocataires)
-- and people covered, by benefit, one row per commune code and December snapshot.
--
-- 1. Series: each export holds the whole series (2020→), so only the newest export is
--    read (an older one would count a year twice); `annee` comes from `dtreffre`.
-- 2. Conventions of the Cnaf, kept as they are: counts rounded to 5, amounts to 100 €.
-- 3. Codes: `type_code` says what a row is. Pseudo-codes are kept here (nothing is
--    lost) with a NULL `code_commune`: "" = foyers non localisés, 99999 = étranger and
--    XXXXX = commune inconnue (before 2016). Paris, Lyon and Marseille come by municipal
--    arrondissement only: `code_commune` is their commune (75056, 69123, 13055), to be
--    added up by the mart. Other codes go through the table de passage (the intermediate model int_caf_prestations).
with newest as (
    select * from raw.caf_prestations
    where _millesime = (select max(_millesime) from raw.caf_prestations)
),

typed as (
    select
        try_cast(left(dtreffre, 4) as integer) as annee,
        dtreffre as mois_reference,
        numcomdo as code_origine,
        caf_type_code(numcomdo) as type_code,
        nomcom as nom_commune_caf,
        valeur_recensement(indfoy_ndur) as foyers_allocataires,
        valeur_recensement(indnbp_ndur) as personnes_couvertes,
        valeur_recensement(indfoy_af) as foyers_af,
        valeur_recensement(indfoy_cf) as foyers_cf,
        valeur_recensement(indfoy_asf) as foyers_asf,
        valeur_recensement(indfoy_ab) as foyers_ab,
        valeur_recensement(indfoy_cmg) as foyers_cmg,
        valeur_recensement(indfoy_apl) as foyers_apl,
        valeur_recensement(indfoy_als) as foyers_als,
        valeur_recensement(indfoy_alf) as foyers_alf,
        valeur_recensement(indfoy_rsa) as foyers_rsa,
        valeur_recensement(indmtt_rsa) as montant_rsa,
        valeur_recensement(indfoy_ppa) as foyers_ppa,
        valeur_recensement(indmtt_ppa) as montant_ppa,
        _millesime as millesime_export,
        _fichier as fichier,
        _ligne as ligne
    from newest
)

select * from typed
