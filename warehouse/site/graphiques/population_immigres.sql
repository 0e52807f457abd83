-- Part des immigrés dans la population de la commune, ensemble et par sexe
-- (Observatoire des territoires, d'après le recensement).
with
final as (
    select * from par_sexe($codes, 'marts.observatoire', 'part_immigres')
)

select * from final
