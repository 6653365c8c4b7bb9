"""Intake domain: pure records and rules for ketamine eligibility (no Flask, Kafka, SQL or HTTP here).

Where to find what: ``settings.IntakeSettings`` (the clinic's rules), ``model.Intake`` (the record),
``recording`` (one ``record_*`` function per part), ``eligibility.decide_eligibility`` and ``errors``. Import each
name from its module.
"""
