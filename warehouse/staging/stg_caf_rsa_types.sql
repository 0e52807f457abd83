-- CAF, RSA by type (rsa_s_type_com_f): households receiving the RSA, majoré (single
-- parent) or not, one row per commune code and December snapshot. Same rules as
-- int_caf_prestations: newest export only, rounded counts, pseudo-codes kept with a
-- NULL `code_commune`, arrondissements of Paris, Lyon and Marseille to their commune.
with newest as (
    select * from raw.caf_rsa_types
    where _millesime = (select max(_millesime) from raw.caf_rsa_types)
),

typed as (
    select
        try_cast(left(dtreffre, 4) as integer) as annee,
        dtreffre as mois_reference,
        numcomdo as code_origine,
        caf_type_code(numcomdo) as type_code,
        nomcom as nom_commune_caf,
        valeur_recensement(indfoy_rsa) as foyers_rsa,
        valeur_recensement(indfoy_rsa_maj) as foyers_rsa_majore,
        valeur_recensement(indfoy_rsa_nmaj) as foyers_rsa_non_majore,
        _millesime as millesime_export,
        _fichier as fichier,
        _ligne as ligne
    from newest
)

select * from typed
