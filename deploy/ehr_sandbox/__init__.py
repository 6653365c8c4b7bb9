"""The local EHR sandbox: a real FHIR R4 server (SEKMET, not written by this team) seeded with realistic patients,
plus an integration engine that plays the hospital's side on Kafka. Used by ``make run`` and the tests; replaced by
the hospital's own EHR when ``EHR_FHIR_BASE_URL`` points elsewhere."""
