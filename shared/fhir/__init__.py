"""FHIR R4 helpers shared by every translator: code systems, datatypes, validation, messages, REST client."""
