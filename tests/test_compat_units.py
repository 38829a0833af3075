"""drumkit's datarobot_drum stand-in and the compat helpers, in process (imported under drumkit's own names)."""

from __future__ import annotations

import json
import pickle
import types

import pytest

from drumkit.compat.datarobot_drum.custom_task_interfaces import user_secrets
from drumkit.compat.datarobot_drum.custom_task_interfaces.custom_task_interface import (
    CustomTaskInterface,
    secrets_injection_context,
)
from drumkit.compat.datarobot_drum.drum.exceptions import DrumSerializationError
from drumkit.compat.user_errors import as_drumkit_error
from drumkit.errors import CustomHTTPError


def foreign_error_class(module: str):
    """A CustomHTTPError class defined in `module`, as another package would define it."""
    namespace = types.SimpleNamespace()
    exec(  # noqa: S102 (a class whose __module__ is the given package)
        "class CustomHTTPError(Exception):\n"
        "    def __init__(self, message='x', status_code=400):\n"
        "        super().__init__(message)\n"
        "        self.status_code = status_code\n",
        {"__name__": module}, namespace.__dict__)
    return namespace.CustomHTTPError


def test_a_datarobot_drum_custom_http_error_and_its_subclasses_become_drumkits():
    base = foreign_error_class("datarobot_drum.drum.exceptions")

    class Teapot(base):
        pass

    converted = as_drumkit_error(Teapot("short and stout", status_code=418))
    assert isinstance(converted, CustomHTTPError)
    assert (converted.message, converted.status_code) == ("short and stout", 418)


def test_other_exceptions_are_left_alone():
    assert as_drumkit_error(ValueError("no")) is None
    assert as_drumkit_error(foreign_error_class("someone_else.errors")("x")) is None


class Task(CustomTaskInterface):
    def __init__(self):
        self.weights = [1, 2, 3]
        self.session = "live connection"


def test_save_excludes_attributes_in_the_file_only(tmp_path):
    task = Task()
    task.save_task(str(tmp_path), exclude=["session"])
    assert task.session == "live connection"
    loaded = Task.load(str(tmp_path))
    assert loaded.weights == [1, 2, 3] and loaded.session is None
    with pytest.raises(DrumSerializationError, match="The object named nope passed in exclude= was not found"):
        task.save_task(str(tmp_path), exclude=["nope"])


def test_load_refuses_an_artifact_of_another_class(tmp_path):
    (tmp_path / "drum_artifact.pkl").write_bytes(pickle.dumps({"not": "a task"}))
    with pytest.raises(DrumSerializationError, match="load_task method must return a Task class"):
        Task.load(str(tmp_path))


def test_secrets_from_files_and_env_typed_by_credential_type(tmp_path, monkeypatch):
    (tmp_path / "DB").write_text(json.dumps({"credential_type": "basic", "username": "u", "password": "p",
                                             "unknown_field": 1}))
    (tmp_path / "TOKEN").write_text(json.dumps({"credential_type": "api_token", "api_token": "from-file"}))
    (tmp_path / "GCP").write_text(json.dumps({"credential_type": "gcp", "gcp_key": {"type": "service_account"}}))
    monkeypatch.setenv("SEC_TOKEN", json.dumps({"credential_type": "api_token", "api_token": "from-env"}))
    monkeypatch.setenv("SEC_S3", json.dumps({"credential_type": "S3", "aws_access_key_id": "k"}))
    found = user_secrets.load_secrets(str(tmp_path), "SEC")
    assert found["DB"] == user_secrets.BasicSecret(username="u", password="p")
    assert found["TOKEN"].api_token == "from-file"  # a mounted file beats the env var
    assert found["GCP"].gcp_key == user_secrets.GCPKey(type="service_account")
    assert found["S3"].aws_access_key_id == "k" and not found["S3"].is_partial_secret()


@pytest.mark.parametrize("text, reason", [
    ("{not json", "is not valid JSON"),
    ('{"username": "u"}', "must be a JSON object with a 'credential_type'"),
    ('{"credential_type": "basic", "username": "u"}', "does not fit its credential_type"),
])
def test_bad_secrets_name_the_secret_and_its_source(tmp_path, text, reason):
    (tmp_path / "BAD").write_text(text)
    with pytest.raises(user_secrets.SecretFormatError) as failure:
        user_secrets.load_secrets(str(tmp_path), None)
    assert f"User secret 'BAD' (file {tmp_path / 'BAD'})" in str(failure.value) and reason in str(failure.value)


def test_secrets_injection_context_sets_and_clears(monkeypatch):
    monkeypatch.setenv("CTX_KEY", json.dumps({"credential_type": "api_token", "api_token": "t"}))
    task = Task()
    with secrets_injection_context(task, None, "CTX"):
        assert task.secrets["KEY"].api_token == "t"
    assert task.secrets == {}
