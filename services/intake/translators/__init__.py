"""Intake FHIR translators: one module per resource and direction, pure functions of their inputs.

``*_in`` modules validate with the R4B models and raise FhirMappingError (an IntakeInputError) for what they
cannot map; ``*_out`` modules validate what they return. ``message_out.intake_decision_resources`` gives the
focus resources for the ``intake-eligibility-decided`` message.
"""
