"""FHIR R4 translators for the treatment course: one module per resource and direction, pure functions, every
resource validated (``shared.fhir.validate``) and carrying a Ketalink identifier."""
