-- Les communes actuelles de la MEL, pour lesquelles le site citoyen peut être construit.
with
source as (
    select * from marts.communes
    where is_mel and type_commune = 'commune-actuelle'
),

final as (
    select
        code_commune,
        nom_commune,
        millesime_cog
    from source
)

select * from final
order by nom_commune
