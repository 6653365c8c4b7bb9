"""FHIR R4 translators for the documentation service: one module per resource and direction, pure functions."""
