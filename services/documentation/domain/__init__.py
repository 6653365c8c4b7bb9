"""Documentation service domain: infusion sessions, flowsheet, administration, discharge and the procedure note.

Pure Python (no Flask, Kafka, SQL or HTTP): every function takes records and returns new ones."""
