-- Family-allowance households (CAF) per commune and year (December snapshot), COG of
-- the run, with `is_mel`, and their weight among the commune's households.
--
-- Counts are the Cnaf's (integers), rounded to 5 (amounts to 100 €); a commune's figure is the sum
-- of its rows (arrondissements of Paris, Lyon, Marseille; communes it absorbed), so the
-- rounding can add up. `arrondis_respectes` checks the convention on every row.
-- Rows without a commune (unlocated, abroad, unknown) stay in intermediate.int_caf_prestations.
--
-- Join with the census (rule): the CAF year Y (December) is compared with the households
-- (`marts.familles`, INSEE) of the census millésime M of the warehouse closest to Y,
-- the older one on a tie; `millesime_menages` says which. A census millésime M
-- describes the 1 January of M (surveys M-2…M+2) and is published in M+3: the newest
-- CAF years are always compared with an older census, the oldest CAF years (before the
-- first millésime loaded) with a newer one.
-- A foyer allocataire is not a ménage (a ménage can hold several foyers: students,
-- flat-sharers), so the "taux_*" are households covered per 100 ménages, not shares,
-- and can exceed 100.
with prestations as (
    select * from intermediate.int_caf_prestations where code_commune is not null
),

rsa_types as (
    select
        annee,
        code_commune,
        sum(foyers_rsa_majore)::bigint as foyers_rsa_majore,
        sum(foyers_rsa_non_majore)::bigint as foyers_rsa_non_majore
    from intermediate.int_caf_rsa_types
    where code_commune is not null
    group by annee, code_commune
),

summed as (
    select
        annee,
        code_commune,
        sum(foyers_allocataires)::bigint as foyers_allocataires,
        sum(personnes_couvertes)::bigint as personnes_couvertes,
        sum(foyers_af)::bigint as foyers_af,
        sum(foyers_cf)::bigint as foyers_cf,
        sum(foyers_asf)::bigint as foyers_asf,
        sum(foyers_ab)::bigint as foyers_ab,
        sum(foyers_cmg)::bigint as foyers_cmg,
        sum(foyers_apl)::bigint as foyers_apl,
        sum(foyers_als)::bigint as foyers_als,
        sum(foyers_alf)::bigint as foyers_alf,
        sum(foyers_rsa)::bigint as foyers_rsa,
        sum(montant_rsa)::bigint as montant_rsa,
        sum(foyers_ppa)::bigint as foyers_ppa,
        sum(montant_ppa)::bigint as montant_ppa,
        bool_and(
            coalesce(foyers_allocataires, 0) % 5 = 0
            and coalesce(personnes_couvertes, 0) % 5 = 0
            and coalesce(foyers_rsa, 0) % 5 = 0
            and coalesce(foyers_apl, 0) % 5 = 0
            and coalesce(montant_rsa, 0) % 100 = 0
            and coalesce(montant_ppa, 0) % 100 = 0
        ) as arrondis_respectes,
        string_agg(distinct code_origine, ' ' order by code_origine) as codes_origine,
        any_value(millesime_export) as millesime_export,
        max(geographie_source) as geographie_source
    from prestations
    group by annee, code_commune
),

menages as (
    select millesime, code_commune, menages, population_des_menages
    from marts.familles
    where menages is not null
),

communes as (
    select * from intermediate.int_communes where type_commune = 'commune-actuelle'
),

joined as (
    select
        summed.*,
        menages.millesime as millesime_menages,
        menages.menages,
        menages.population_des_menages
    from summed
    left join menages using (code_commune)
    qualify row_number() over (
        partition by summed.annee, summed.code_commune
        order by abs(summed.annee - menages.millesime), menages.millesime
    ) = 1
),

final as (
    select
        joined.annee,
        joined.code_commune,
        communes.nom_commune,
        communes.code_epci,
        communes.nom_epci,
        communes.code_departement,
        coalesce(communes.is_mel, false) as is_mel,
        communes.code_commune is not null as dans_cog,
        foyers_allocataires,
        personnes_couvertes,
        foyers_af,
        foyers_cf,
        foyers_asf,
        foyers_ab,
        foyers_cmg,
        foyers_apl,
        foyers_als,
        foyers_alf,
        foyers_apl + foyers_als + foyers_alf as foyers_aides_logement,
        foyers_rsa,
        rsa_types.foyers_rsa_majore,
        rsa_types.foyers_rsa_non_majore,
        round(100 * rsa_types.foyers_rsa_majore / nullif(foyers_rsa, 0), 1) as part_rsa_majore,
        montant_rsa,
        round(montant_rsa / nullif(foyers_rsa, 0)) as montant_moyen_rsa,
        foyers_ppa,
        montant_ppa,
        millesime_menages,
        round(menages, 1) as menages,
        round(100 * foyers_allocataires / nullif(menages, 0), 1) as taux_foyers_allocataires,
        round(100 * personnes_couvertes / nullif(population_des_menages, 0), 1)
            as taux_personnes_couvertes,
        round(100 * foyers_rsa / nullif(menages, 0), 1) as taux_foyers_rsa,
        round(100 * foyers_ppa / nullif(menages, 0), 1) as taux_foyers_ppa,
        round(100 * (foyers_apl + foyers_als + foyers_alf) / nullif(menages, 0), 1)
            as taux_foyers_aides_logement,
        round(100 * foyers_af / nullif(menages, 0), 1) as taux_foyers_af,
        arrondis_respectes,
        codes_origine,
        millesime_export,
        geographie_source
    from joined
    left join communes using (code_commune)
    left join rsa_types using (annee, code_commune)
)

select * from final
order by annee, code_commune
