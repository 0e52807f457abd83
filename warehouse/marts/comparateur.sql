-- Comparateur indicators per commune and millésime (long format: one row per
-- indicator), for every commune of France in the run's COG (intermediate.
-- int_valeurs_communes: passage from the file's geography, merged communes added up,
-- medians and rates of merged communes NULL with their reason).
-- `variable` is stable across millésimes; `code_indicateur` is INSEE's own code (of a
-- merged commune: the codes of its rows); `geographie_source` is the COG of the file.
with valeurs as (
    select * from intermediate.int_valeurs_communes where source_id = 'insee_comparateur'
),

communes as (
    select * from intermediate.int_communes where type_commune = 'commune-actuelle'
),

final as (
    select
        valeurs.millesime,
        valeurs.code_commune,
        communes.nom_commune,
        communes.code_epci,
        communes.nom_epci,
        communes.code_departement,
        coalesce(communes.is_mel, false) as is_mel,
        communes.code_commune is not null as dans_cog,
        valeurs.codes_indicateur as code_indicateur,
        valeurs.variable,
        valeurs.libelle,
        valeurs.unite,
        valeurs.valeur,
        valeurs.raison_absence,
        valeurs.codes_origine,
        valeurs.geographie as geographie_source
    from valeurs
    left join communes using (code_commune)
)

select * from final
order by millesime, code_commune, variable
