-- Part des personnes de 75 ans ou plus vivant seules dans la commune, ensemble et par
-- sexe (Observatoire des territoires, d'après le recensement).
with
final as (
    select * from par_sexe($codes, 'marts.observatoire', 'part_75p_seuls')
)

select * from final
