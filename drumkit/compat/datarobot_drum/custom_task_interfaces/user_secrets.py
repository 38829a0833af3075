"""User secrets: JSON credentials from files in a mounted folder or `<PREFIX>_<NAME>` env vars.

Each value is a JSON object with a `credential_type` (basic, api_token, s3, ...) and that type's fields;
it becomes the matching frozen dataclass. Mounted files win over env vars of the same name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any


class UnsupportedSecretError(Exception):
    """A secret whose `credential_type` is unknown."""


class SecretFormatError(ValueError):
    """A secret that is not a JSON object with a `credential_type`."""


def _known_fields(values: dict, cls) -> dict:
    if not is_dataclass(cls):
        return dict(values)
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in values.items() if key in names}


class AbstractSecret:
    """Base of every secret type."""

    def is_partial_secret(self) -> bool:
        """True when part of the credential is kept by an admin-owned config and is not in this object."""
        return any(getattr(self, key, None) for key in ("config_id", "oauth_config_id"))

    @classmethod
    def from_dict(cls, values: dict):
        """Build from a credential mapping, ignoring keys this type does not have."""
        return cls(**_known_fields(values, cls))


@dataclass(frozen=True)
class BasicSecret(AbstractSecret):
    username: str
    password: str
    snowflake_account_name: str | None = None


@dataclass(frozen=True)
class OauthSecret(AbstractSecret):
    token: str
    refresh_token: str


@dataclass(frozen=True)
class S3Secret(AbstractSecret):
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    config_id: str | None = None


@dataclass(frozen=True)
class AzureSecret(AbstractSecret):
    azure_connection_string: str


@dataclass(frozen=True)
class AzureServicePrincipalSecret(AbstractSecret):
    client_id: str
    client_secret: str
    azure_tenant_id: str


@dataclass(frozen=True)
class SnowflakeOauthUserAccountSecret(AbstractSecret):
    client_id: str | None
    client_secret: str | None
    snowflake_account_name: str | None
    oauth_issuer_type: str | None = None
    oauth_issuer_url: str | None = None
    oauth_scopes: str | None = None
    oauth_config_id: str | None = None


@dataclass(frozen=True)
class SnowflakeKeyPairUserAccountSecret(AbstractSecret):
    username: str | None
    private_key_str: str | None
    passphrase: str | None = None
    config_id: str | None = None


@dataclass(frozen=True)
class AdlsGen2OauthSecret(AbstractSecret):
    client_id: str
    client_secret: str
    oauth_scopes: str


@dataclass(frozen=True)
class TableauAccessTokenSecret(AbstractSecret):
    token_name: str
    personal_access_token: str


@dataclass(frozen=True)
class DatabricksAccessTokenAccountSecret(AbstractSecret):
    databricks_access_token: str


@dataclass(frozen=True)
class ApiTokenSecret(AbstractSecret):
    api_token: str


@dataclass(frozen=True)
class GCPKey:
    type: str
    project_id: str | None = None
    private_key_id: str | None = None
    private_key: str | None = None
    client_email: str | None = None
    client_id: str | None = None
    auth_uri: str | None = None
    token_uri: str | None = None
    auth_provider_x509_cert_url: str | None = None
    client_x509_cert_url: str | None = None

    @classmethod
    def from_dict(cls, values: dict) -> GCPKey:
        """Build from a service-account key mapping."""
        return cls(**_known_fields(values, cls))


@dataclass(frozen=True)
class GCPSecret(AbstractSecret):
    gcp_key: GCPKey | None = None
    config_id: str | None = None

    @classmethod
    def from_dict(cls, values: dict) -> GCPSecret:
        """Build from a credential mapping; a nested `gcp_key` mapping becomes a GCPKey."""
        known = _known_fields(values, cls)
        if isinstance(known.get("gcp_key"), dict):
            known["gcp_key"] = GCPKey.from_dict(known["gcp_key"])
        return cls(**known)


class SecretType(Enum):
    """`credential_type` values and the class each becomes."""

    BASIC = BasicSecret
    OAUTH = OauthSecret
    GCP = GCPSecret
    S3 = S3Secret
    AZURE = AzureSecret
    AZURE_SERVICE_PRINCIPAL = AzureServicePrincipalSecret
    SNOWFLAKE_OAUTH_USER_ACCOUNT = SnowflakeOauthUserAccountSecret
    SNOWFLAKE_KEY_PAIR_USER_ACCOUNT = SnowflakeKeyPairUserAccountSecret
    ADLS_GEN2_OAUTH = AdlsGen2OauthSecret
    TABLEAU_ACCESS_TOKEN = TableauAccessTokenSecret
    DATABRICKS_ACCESS_TOKEN_ACCOUNT = DatabricksAccessTokenAccountSecret
    API_TOKEN = ApiTokenSecret

    @classmethod
    def from_string(cls, name: str) -> SecretType:
        """The type for a `credential_type` string (any case)."""
        try:
            return cls[str(name).upper()]
        except KeyError:
            raise UnsupportedSecretError(f"Unsupported secret type: {name!r}") from None

    def get_secret_class(self):
        """The dataclass for this type."""
        return self.value


def secrets_factory(values: dict) -> AbstractSecret:
    """One credential mapping -> its secret object."""
    return SecretType.from_string(values["credential_type"]).get_secret_class().from_dict(values)


def load_secrets(mount_path: str | None, env_var_prefix: str | None) -> dict[str, AbstractSecret]:
    """Every secret from `<env_var_prefix>_<NAME>` env vars and files in `mount_path` (files win)."""
    raw: dict[str, tuple] = {}
    if env_var_prefix:
        start = f"{env_var_prefix}_"
        for key, value in os.environ.items():
            if key.startswith(start):
                raw[key[len(start) :]] = (f"env var {key}", value)
    if mount_path is not None:
        folder = Path(mount_path)
        for path in sorted(folder.glob("*")):
            if path.is_file():
                raw[path.name] = (f"file {path}", path.read_text())
    return {name: _secret(name, source, text) for name, (source, text) in raw.items()}


def _secret(name: str, source: str, text: str) -> AbstractSecret:
    try:
        values: Any = json.loads(text)
    except ValueError as exc:
        raise SecretFormatError(f"User secret '{name}' ({source}) is not valid JSON: {exc}") from None
    if not isinstance(values, dict) or "credential_type" not in values:
        raise SecretFormatError(
            f"User secret '{name}' ({source}) must be a JSON object with a 'credential_type'"
        )
    try:
        return secrets_factory(values)
    except TypeError as exc:  # a required field is missing
        raise SecretFormatError(
            f"User secret '{name}' ({source}) does not fit its credential_type: {exc}"
        ) from None
