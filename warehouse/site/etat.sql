-- L'état de l'entrepôt que lit le site : l'empreinte de tous les chargements. Les lots de
-- communes, chacun avec sa connexion, doivent tous avoir lu le même état.
select md5(coalesce(string_agg(concat_ws('|', source_id, millesime, empreinte), ',' order by all), ''))
from meta.chargements
