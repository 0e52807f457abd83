"""Errors meant for a person: what is wrong, where, and what to do (in French)."""

from __future__ import annotations


class OpenDataError(Exception):
    """An error a data officer can act on without reading a traceback."""

    title = "Erreur"

    def __init__(self, what: str, *, where: str | None = None, action: str | None = None):
        self.what = what
        self.where = where
        self.action = action
        super().__init__(self.message)

    @property
    def message(self) -> str:
        lines = [f"{self.title} : {self.what}"]
        if self.where:
            lines.append(f"  Où : {self.where}")
        if self.action:
            lines.append(f"  Que faire : {self.action}")
        return "\n".join(lines)


class ConfigurationError(OpenDataError):
    title = "Configuration invalide"


class SourceUnavailable(OpenDataError):
    title = "Source injoignable ou en erreur"


class InvalidFormat(OpenDataError):
    title = "Fichier reçu invalide"


class LayoutChanged(OpenDataError):
    title = "Structure du fichier modifiée"


class InvalidData(OpenDataError):
    title = "Données invalides"


class QualityGateFailed(OpenDataError):
    title = "Contrôle qualité bloquant en échec"
