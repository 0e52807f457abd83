"""Subsidies to associations: the commune's documents → one SCDL subventions file."""
