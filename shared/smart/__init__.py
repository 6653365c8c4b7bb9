"""SMART App Launch 2.x for the Ketalink services (the app side): EHR and standalone launch with PKCE, a
server-side session behind an HttpOnly cookie, transparent refresh, and scope/patient checks on every API call.

A service calls ``install_smart(app, runtime)`` in its ``build()`` and declares per view what it needs with
``@requires(...)`` (or calls ``require(...)`` inside the view); ``current_context()`` gives the patient, encounter,
user and the EHR access token. See ``shared/smart/README.md``.
"""
from shared.smart.access import (
    SmartAuthError, SmartContext, current_context, from_body, from_path, from_query, guarded_by, require, requires,
)
from shared.smart.app import SmartAuth, install_smart
from shared.smart.settings import SmartSettings

__all__ = [
    "SmartAuth", "SmartAuthError", "SmartContext", "SmartSettings", "current_context", "from_body", "from_path",
    "from_query", "guarded_by", "install_smart", "require", "requires",
]
