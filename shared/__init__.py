"""Ketalink's own library, used by every service: configuration, FHIR client and mapping helpers,
FHIR messaging, the Kafka event bus with outbox and dead-letter handling, the SQL store and web glue."""
