"""Orders domain: clinic protocol settings, weight-based dose calculation, treatment series, the order lifecycle
and the protocol check for orders placed in the EHR's CPOE. Pure Python: no Flask, Kafka, SQL or HTTP here."""
