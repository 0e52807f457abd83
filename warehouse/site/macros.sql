-- Macros des requêtes du site citoyen, créées (temporaires) à chaque connexion en
-- lecture seule.
--
-- Une requête de graphique sert un lot de communes à la fois ($codes, leurs codes
-- INSEE) et rend, pour chaque ligne, la commune dont la page la montre (code_commune) :
-- préparer une requête coûte plus que l'exécuter, et le total de la MEL se calcule une
-- fois pour tout le lot.

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

-- Les effectifs de quelques variables d'un mart du recensement pour chaque commune du
-- lot et pour toute la MEL (somme des communes, seulement si toutes la renseignent), au
-- dernier millésime où la commune a la première variable (ou la raison de son absence) :
-- un millésime plus récent peut n'avoir encore que les populations légales.
-- Une ligne par commune du lot, territoire et variable : code_commune, millesime,
-- territoire, ordre_territoire, variable, effectif, raison.
create or replace temp macro effectifs(codes, mart, variables) as table
with
lignes as (
    -- only the rows the charts show (the batch's communes and the MEL) are turned into
    -- JSON: the mart may hold all of France
    select millesime, code_commune, nom_commune, is_mel, raisons_absence, to_json(t) as ligne
    from query_table(mart) as t
    where is_mel or list_contains(codes, code_commune)
),

-- computed once: the communes' rows, their latest millésime and the MEL's sums read it
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
    select code_commune, max(millesime) as millesime
    from valeurs
    where list_contains(codes, code_commune)
        and variable = variables[1]
        and (effectif is not null or raison is not null)
    group by code_commune
),

mel as (
    select
        millesime,
        variable,
        somme_complete(effectif) as effectif,
        case
            when count(effectif) between 1 and count(*) - 1
                then 'non calculable : ' || (count(*) - count(effectif))
                    || ' commune(s) sans ce chiffre'
        end as raison
    from valeurs
    where is_mel and millesime in (select millesime from dernier)
    group by millesime, variable
)

select
    valeurs.code_commune,
    valeurs.millesime,
    valeurs.nom_commune as territoire,
    1 as ordre_territoire,
    valeurs.variable,
    valeurs.effectif,
    valeurs.raison
from valeurs
inner join dernier using (code_commune, millesime)
union all
select
    dernier.code_commune,
    mel.millesime,
    'Ensemble de la MEL',
    2,
    mel.variable,
    mel.effectif,
    mel.raison
from dernier
inner join mel using (millesime);

-- Des parts en pourcentage pour chaque commune du lot et pour toute la MEL : une ligne
-- par commune, territoire et catégorie {ordre, categorie, variable, total} (variable /
-- total du mart), dans les colonnes qu'attend un graphique du site.
create or replace temp macro parts(codes, mart, categories) as table
with
choisies as (
    select unnest(categories, recursive := true)
),

effectifs as (
    select * from effectifs(
        codes,
        mart,
        list_concat([c.variable for c in categories], [c.total for c in categories])
    )
)

select
    effectifs.code_commune,
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
    on totaux.variable = choisies.total
    and totaux.code_commune = effectifs.code_commune
    and totaux.ordre_territoire = effectifs.ordre_territoire;

-- Un indicateur de l'Observatoire des territoires pour chaque commune du lot, ensemble
-- et par sexe, à la dernière extraction et à sa dernière année (l'export CSV n'en donne
-- aucune : ses seules valeurs). Pas de chiffre pour toute la MEL : l'export ne donne que
-- des parts communales, qui ne s'additionnent pas.
create or replace temp macro par_sexe(codes, mart, indicateur) as table
with
source as (
    -- the mart as a parameter: bound when called, so that the macro can be created
    -- before the mart exists (it is built once its source is loaded)
    select * from query_table(mart)
    where list_contains(codes, code_commune) and code_indicateur = indicateur
    qualify millesime_extraction = max(millesime_extraction) over (partition by code_commune)
)

select
    code_commune,
    annee as millesime,
    nom_commune as territoire,
    1 as ordre_territoire,
    case sexe when 'femmes' then 'Femmes' when 'hommes' then 'Hommes' else 'Ensemble' end
        as categorie,
    case sexe when 'femmes' then 2 when 'hommes' then 3 else 1 end as ordre,
    valeur,
    raison_absence
from source
qualify annee is not distinct from max(annee) over (partition by code_commune);
