"""The treatment course: measurement-based care across the induction and maintenance series, outcomes,
psychotherapy integration and the decisions after induction. ``domain/`` holds the pure rules, ``translators/`` one
module per FHIR resource and direction; see README.md."""
