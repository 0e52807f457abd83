-- Tables the pipeline itself maintains (everything else is built from the SQL models).
create schema if not exists raw;
create schema if not exists ref;
create schema if not exists staging;
create schema if not exists intermediate;
create schema if not exists marts;
create schema if not exists meta;

-- One row per raw file used by a load (a copy of data/raw/manifest.csv rows).
create table if not exists meta.fichiers_bruts (
    source_id varchar not null,
    url varchar not null,
    millesime integer,
    sha256 varchar not null,
    taille_octets bigint not null,
    telecharge_le timestamptz not null,
    chemin varchar not null,
    primary key (source_id, url, sha256)
);

-- One row per (source, millésime) currently in raw: what was loaded and when.
create table if not exists meta.chargements (
    source_id varchar not null,
    millesime integer not null,
    empreinte varchar not null,        -- sha256 of the files, sorted and joined
    lignes bigint not null,
    charge_le timestamptz not null,
    primary key (source_id, millesime)
);

-- Definitions of the variables of each source and millésime, from the registry.
create table if not exists ref.variables (
    source_id varchar not null,
    millesime integer not null,
    code_indicateur varchar not null,
    variable varchar,
    libelle varchar,
    unite varchar,
    primary key (source_id, millesime, code_indicateur)
);

-- The theme of each variable (population, familles, logement), added with the census.
alter table ref.variables add column if not exists theme varchar;
-- false for a median or a rate: never added up when communes merge (France issue).
alter table ref.variables add column if not exists additive boolean;

-- The COG vintage of the codes of each loaded file (registry `geographie`): the table
-- de passage (intermediate.int_passage_communes) expresses them in the run's COG.
create table if not exists ref.geographies (
    source_id varchar not null,
    millesime integer not null,
    geographie integer not null,
    primary key (source_id, millesime)
);

-- Where each census millésime was found (catalogue or registry), one row per source,
-- millésime and run: "since when does the catalogue announce 2023?" is one query.
create table if not exists meta.decouvertes (
    source_id varchar not null,
    millesime integer not null,
    url varchar not null,
    origine varchar not null,          -- e.g. "catalogue melodi, jeu DS_RP_SERIE_HISTORIQUE"
    annonce integer,                   -- the newest year the catalogue announces
    avertissement varchar,
    decouvert_le timestamptz not null
);

-- Every result of every quality check, one row per expectation and run (history:
-- "since when has this check failed?" is one query, see README "Contrôle qualité").
create table if not exists meta.validations (
    run_id varchar not null,           -- the Prefect flow run (or a uuid outside Prefect)
    valide_le timestamptz not null,
    mart varchar not null,             -- = the suite expectations/<mart>.json
    millesime integer,                 -- newest millésime (or COG) of the mart validated
    attente varchar not null,          -- GX expectation type
    regle varchar not null,            -- the rule in words
    colonne varchar,
    gravite varchar not null,          -- critical | warning
    origine varchar not null,          -- suite | contrôle commun
    succes boolean not null,
    valeur_observee varchar,
    nb_ecarts bigint,
    exemples varchar,                  -- up to 10 values with their commune, " | "-separated
    erreur varchar
);

-- What the gate decided for each mart of a run: exported (validé) or kept back (bloqué).
create table if not exists meta.decisions_qualite (
    run_id varchar not null,
    decide_le timestamptz not null,
    mart varchar not null,
    decision varchar not null,         -- validé | bloqué
    raison varchar,
    data_docs varchar                  -- the GX Data Docs page of the run
);

-- Census cells: masked ("s"), empty, "nd" or -9999 are NULL with their reason, never 0.
-- Decimal commas ("71,0") and points coexist in the same file; counts stay decimals.
-- The cast ignores the spaces around a number, as `trim` would: a readable number
-- (almost every cell) is cast once, and only the other cells are looked at further.
create or replace macro valeur_recensement(brute) as
    case
        when try_cast(replace(brute, ',', '.') as double) = -9999 and trim(brute) = '-9999'
            then null
        else try_cast(replace(brute, ',', '.') as double)
    end;

create or replace macro raison_absence_recensement(brute) as
    case
        when try_cast(replace(brute, ',', '.') as double) <> -9999 then null
        when brute is null or trim(brute) = '' then 'non renseignée (cellule vide)'
        when lower(trim(brute)) = 's' then 'secret statistique'
        when lower(trim(brute)) = 'nd' then 'non disponible'
        when trim(brute) = '-9999' then 'non classée'
        when try_cast(replace(trim(brute), ',', '.') as double) is null
            then 'valeur illisible : ' || trim(brute)
    end;

-- Wide census marts: the reasons of the NULL cells of a row ("rp_hlm : secret
-- statistique ; …") and the sources it was built from, as aggregates over its variables.
create or replace macro raisons_absence_liste(variable, raison) as
    string_agg(variable || ' : ' || raison, ' ; ' order by variable) filter (
        where raison is not null
    );

-- (The distinct values of a row's rows, few, are split, not every value: same list.)
create or replace macro sources_liste(sources) as
    array_to_string(
        list_sort(list_distinct(flatten(
            list_transform(list(distinct sources), lambda value: string_split(value, ' '))
        ))),
        ' '
    );

-- What this run is about: its COG vintage, its territory (an EPCI SIREN or a commune
-- code) and the EPCI whose communes carry `is_mel` (the client's flag). One row.
drop table if exists ref.territoire;
create table if not exists ref.execution (
    cog integer not null,
    territoire varchar not null,
    epci_is_mel varchar not null
);

-- What was last published to data.gouv.fr, per environment, dataset and resource.
create table if not exists meta.publications (
    environnement varchar not null,    -- demo | prod
    jeu varchar not null,              -- <fiche>/<périmètre>, e.g. comparateur/mel
    ressource varchar not null,        -- stable key of the resource within the dataset
    dataset_id varchar not null,
    resource_id varchar not null,
    sha1 varchar not null,
    journal varchar not null,          -- "Journal des modifications" (markdown)
    publie_le timestamptz not null,
    primary key (environnement, jeu, ressource)
);
-- Fingerprints of the metadata sent, so that a dry run without an API key can still
-- tell a metadata change from nothing to do. (Added after the first release.)
alter table meta.publications add column if not exists empreinte_jeu varchar;
alter table meta.publications add column if not exists empreinte_ressource varchar;

-- The line of each published dataset in its organisation's SCDL data catalogue, as it
-- was read on the platform after its last publication.
create table if not exists meta.catalogue (
    environnement varchar not null,
    jeu varchar not null,
    entree json not null,
    primary key (environnement, jeu)
);

-- The rows of the last published data file of each dataset, to compute the next changelog.
create table if not exists meta.instantanes (
    environnement varchar not null,
    jeu varchar not null,
    cle varchar not null,              -- the row key, as JSON
    ligne json not null,
    primary key (environnement, jeu, cle)
);

-- The indicators of per-indicator sources (Observatoire des territoires), from the
-- registry: what each code means, and which census indicator computed here it repeats.
create table if not exists ref.indicateurs (
    source_id varchar not null,
    code_indicateur varchar not null,
    jeu varchar,                       -- `dataset` of the download API
    libelle varchar not null,
    unite varchar,
    theme varchar,
    format varchar,                    -- xlsx (default layout) or csv
    mart_insee varchar,                -- mart.colonne of the same indicator from the census
    colonne_insee varchar,
    primary key (source_id, code_indicateur)
);

-- CAF commune codes: what a row is. The pseudo-codes are those of the registry
-- (`pseudo_codes` of the CAF sources): "" unlocated, 99999 abroad, XXXXX unknown.
create or replace macro caf_type_code(code) as
    case
        when code is null or trim(code) = '' then 'non localisé'
        when code = '99999' then 'étranger'
        when code = 'XXXXX' then 'commune inconnue'
        when regexp_full_match(code, '751(0[1-9]|1[0-9]|20)|132(0[1-9]|1[0-6])|6938[1-9]')
            then 'arrondissement municipal'
        else 'commune'
    end;

-- The commune of a CAF row: an arrondissement's commune (Paris, Marseille, Lyon), the
-- commune of the run for a commune code (`code_passage`: from the table de passage),
-- none for a pseudo-code.
create or replace macro caf_code_commune(type_code, code_origine, code_passage) as
    case
        when type_code = 'arrondissement municipal' then
            case left(code_origine, 3)
                when '751' then '75056' when '132' then '13055' when '693' then '69123'
            end
        when type_code = 'commune' then coalesce(code_passage, code_origine)
    end;

-- Subsidies to associations (SCDL subventions), loaded by the `subventions` flow from a
-- commune's documents once its file has passed the SCDL validation; one load replaces
-- that commune's rows. The 16 SCDL fields as written in the validated file (text), plus
-- where each row was read.
create table if not exists raw.subventions (
    code_commune varchar not null,
    annee integer not null,
    "nomAttribuant" varchar,
    "idAttribuant" varchar,
    "dateConvention" varchar,
    "referenceDecision" varchar,
    "nomBeneficiaire" varchar,
    "idBeneficiaire" varchar,
    "rnaBeneficiaire" varchar,
    objet varchar,
    montant varchar,
    nature varchar,
    "conditionsVersement" varchar,
    "datesPeriodeVersement" varchar,
    "idRAE" varchar,
    "notificationUE" varchar,
    "pourcentageSubvention" varchar,
    "dispositifAide" varchar,
    graphie varchar,                   -- the beneficiary as the document spells it
    _fichier varchar,                  -- the document, table and row read
    _ligne bigint                      -- row of the validated SCDL file (header = 1)
);
