"""What the EHR did with the work a clinician sent it, for every service alike.

- ``model``: the statuses (sent, applied, refused, retrying), how an EHR response message maps to one, and a
  record's status over all its messages; pure.
- ``store``: the ``ehr_deliveries`` table: a message tracked when it is enqueued, its answer recorded when the EHR's
  response arrives on ``ehr.responses``, the deliveries of a record, the clinic's outstanding ones.
- ``views``: the JSON of a record's status and of the "not in the EHR" list, with what a caller may see of each row.

A service calls ``track`` where it publishes a message for the EHR (naming the record it belongs to) and
``record_response`` in its ``on_ehr_response``; its presenters and pages show the result.
"""
from shared.ehr_delivery.model import (
    Delivery, EhrStatus, EhrStatusSettings, RecordEhrStatus, record_status, status_for_response,
)
from shared.ehr_delivery.store import outstanding, record_response, statuses_of, track

__all__ = ["Delivery", "EhrStatus", "EhrStatusSettings", "RecordEhrStatus", "outstanding", "record_response",
           "record_status", "status_for_response", "statuses_of", "track"]
