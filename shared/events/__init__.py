"""The event bus: FHIR messages over Kafka with an outbox, a processed-message store and dead-letter topics."""
