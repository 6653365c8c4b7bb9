"""FHIR R4 translators for the orders service: one module per resource and direction, pure functions."""
