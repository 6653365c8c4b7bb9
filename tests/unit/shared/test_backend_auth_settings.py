"""EHR_BACKEND_* (shared/smart/backend.py) is checked when the service starts: a missing or unusable key, or a scope
that is not a system/ scope, stops it with the variable's name."""
from __future__ import annotations

import pytest
from joserfc.jwk import ECKey

from shared.config import SettingsError, load_settings
from shared.smart.backend import BackendAuth, BackendAuthSettings
from shared.smart.oauth import ClientKey


def test_settings_are_checked_at_start(tmp_path):
    with pytest.raises(SettingsError, match="private_key_file is required"):
        load_settings(BackendAuthSettings, "EHR_BACKEND_", {})
    key_path = tmp_path / "key.pem"
    key_path.write_bytes(ECKey.generate_key("P-256", private=True).as_pem(private=True))
    with pytest.raises(SettingsError, match="P-384"):
        load_settings(BackendAuthSettings, "EHR_BACKEND_", {"EHR_BACKEND_PRIVATE_KEY_FILE": str(key_path)})
    key_path.write_bytes(ECKey.generate_key("P-384", private=True).as_pem(private=True))
    with pytest.raises(SettingsError, match="not a system/ scope"):
        load_settings(BackendAuthSettings, "EHR_BACKEND_", {"EHR_BACKEND_PRIVATE_KEY_FILE": str(key_path),
                                                            "EHR_BACKEND_SCOPES": "user/*.rs"})
    settings = load_settings(BackendAuthSettings, "EHR_BACKEND_", {"EHR_BACKEND_PRIVATE_KEY_FILE": str(key_path)})
    assert settings.scopes == "system/*.rs" and ClientKey.from_file(str(key_path)).alg == "ES384"
    assert load_settings(BackendAuthSettings, "EHR_BACKEND_", {"EHR_BACKEND_AUTH": "none"}).auth is BackendAuth.NONE
