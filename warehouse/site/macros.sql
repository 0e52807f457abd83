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

-- Les effectifs de quelques variables d'un mart du recensement pour une commune et pour
-- toute la MEL (somme des communes, seulement si toutes la renseignent), au dernier
-- millésime où la commune a la première variable (ou la raison de son absence) : un
-- millésime plus récent peut n'avoir encore que les populations légales.
-- Une ligne par territoire et variable : millesime, territoire, ordre_territoire,
-- variable, effectif, raison.
create or replace temp macro effectifs(code, mart, variables) as table
with
lignes as (
    -- only the rows the chart shows (the commune and the MEL) are turned into JSON: the
    -- mart may hold all of France
    select millesime, code_commune, nom_commune, is_mel, raisons_absence, to_json(t) as ligne
    from query_table(mart) as t
    where is_mel or code_commune = code
),

-- computed once: the commune's row, its latest millésime and the MEL's sum all read it
valeurs as materialized (
    select
        millesime,
        code_commune,
        nom_commune,
        is_mel,
        noms.variable,
        cast(json_extract(ligne, '$.' || noms.variable) as double) as effectif,
        raison(raisons_absence, noms.variable) as raison
    from lignes
    cross join unnest(list_distinct(variables)) as noms (variable)
),

dernier as (
    select max(millesime) as millesime
    from valeurs
    where code_commune = code
        and variable = variables[1]
        and (effectif is not null or raison is not null)
)

select millesime, nom_commune as territoire, 1 as ordre_territoire, variable, effectif, raison
from valeurs
where code_commune = code and millesime = (select millesime from dernier)
union all
select
    millesime,
    'Ensemble de la MEL',
    2,
    variable,
    somme_complete(effectif),
    case
        when count(effectif) between 1 and count(*) - 1
            then 'non calculable : ' || (count(*) - count(effectif)) || ' commune(s) sans ce chiffre'
    end
from valeurs
where is_mel and millesime = (select millesime from dernier)
group by millesime, variable;

-- Des parts en pourcentage pour une commune et pour toute la MEL : une ligne par
-- territoire et catégorie {ordre, categorie, variable, total} (variable / total du mart),
-- dans les colonnes qu'attend un graphique du site.
create or replace temp macro parts(code, mart, categories) as table
with
choisies as (
    select unnest(categories, recursive := true)
),

effectifs as (
    select * from effectifs(
        code,
        mart,
        list_concat([c.variable for c in categories], [c.total for c in categories])
    )
)

select
    effectifs.millesime,
    effectifs.territoire,
    effectifs.ordre_territoire,
    choisies.categorie,
    choisies.ordre,
    part(effectifs.effectif, totaux.effectif) as valeur,
    effectifs.raison as raison_absence
from choisies
inner join effectifs on effectifs.variable = choisies.variable
inner join effectifs as totaux
    on totaux.variable = choisies.total and totaux.territoire = effectifs.territoire;

-- Un indicateur de l'Observatoire des territoires pour une commune, ensemble et par sexe,
-- à la dernière extraction et à sa dernière année (l'export CSV n'en donne aucune : ses
-- seules valeurs). Pas de chiffre pour toute la MEL : l'export ne donne que des parts
-- communales, qui ne s'additionnent pas.
create or replace temp macro par_sexe(code, mart, indicateur) as table
with
source as (
    -- the mart as a parameter: bound when called, so that the macro can be created
    -- before the mart exists (it is built once its source is loaded)
    select * from query_table(mart)
    where code_commune = code and code_indicateur = indicateur
    qualify millesime_extraction = max(millesime_extraction) over ()
)

select
    annee as millesime,
    nom_commune as territoire,
    1 as ordre_territoire,
    case sexe when 'femmes' then 'Femmes' when 'hommes' then 'Hommes' else 'Ensemble' end
        as categorie,
    case sexe when 'femmes' then 2 when 'hommes' then 3 else 1 end as ordre,
    valeur,
    raison_absence
from source
qualify annee is not distinct from max(annee) over ();
