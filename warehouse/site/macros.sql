-- Macros des requêtes du site citoyen, créées (temporaires) à chaque connexion en
-- lecture seule.

-- La somme d'une colonne sur les communes de la MEL, seulement si toutes la renseignent :
-- une somme partielle serait un faux total de la métropole.
create or replace temp macro somme_complete(x) as
    case when count(x) = count(*) then sum(x) end;

-- La raison pour laquelle une variable manque (« secret statistique »…), lue dans la
-- colonne raisons_absence des marts (« variable : raison ; variable : raison »).
create or replace temp macro raison(raisons, variable) as
    nullif(trim(regexp_extract(raisons, '(?:^|; )' || variable || ' : ([^;]+)', 1)), '');

-- Une part en pourcentage, arrondie au dixième comme dans les marts.
create or replace temp macro part(x, total) as round(100 * x / nullif(total, 0), 1);
