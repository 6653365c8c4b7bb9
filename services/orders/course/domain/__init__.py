"""Course domain: scores over time, outcome rules (response, remission, loss of response, relapse after remission),
the course's states and decisions, suicidality alerts, psychotherapy integration, the clinician's one-page summary
and the de-identified outcomes export. Pure Python: no Flask, Kafka, SQL or HTTP here."""
