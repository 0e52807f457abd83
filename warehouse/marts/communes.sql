-- Référentiel communal of the run's COG, for all of France: every commune,
-- arrondissement municipal, commune déléguée and associée, with its EPCI, `is_mel` and
-- `dans_territoire` (intermediate.int_communes defines them once, for every mart).
select * from intermediate.int_communes
order by code_commune, type_commune
