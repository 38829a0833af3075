"""A worker's app imports Flask only for a request that needs it; answers are the same either way."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
from drumkit.server.app import FlaskOnDemand, create_worker_app
from drumkit.server.settings import ServerSettings
from drumkit.server.state import ServerState
from tests import servermodels
from tests.modelzoo import write

CSV = b"a,b\n1,2\n3,4.5\n"
# In a fresh interpreter (this one has Flask loaded already): which requests load it.
PROBE = '''
import io, json, sys
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
from drumkit.server.app import create_worker_app, _get
from drumkit.server.settings import ServerSettings
from drumkit.server.state import ServerState

def post(app, path, body):
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "CONTENT_TYPE": "text/csv",
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    seen = []
    answer = b"".join(app(environ, lambda status, headers, exc_info=None: seen.append(status)))
    return seen[0], answer.decode()

state = ServerState(predictor=None, settings=ServerSettings())
app = create_worker_app(Predictor.from_settings(ModelSettings(code_dir=sys.argv[1])), ServerSettings(), state=state)
out = {"ready": state.ready, "flask_after_start": "flask" in sys.modules}
out["ping"] = _get(app, "/ping/")[0]
out["predict"] = post(app, "/predict/", sys.argv[2].encode())
out["bad_csv"] = post(app, "/predict/", b"a,b\\n1,2\\n3,4,5\\n")[0]
out["flask_after_lean"] = "flask" in sys.modules or "werkzeug" in sys.modules
status, headers, body = _get(app, "/info/")
out["info"] = (status, json.loads(body)["targetType"])
out["flask_after_info"] = "flask" in sys.modules
print(json.dumps(out))
'''


def test_predictions_and_ping_never_load_flask_and_other_routes_do(tmp_path_factory):
    code_dir = servermodels.hooks_dir(tmp_path_factory.mktemp("lazy"))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(PROBE), str(code_dir), CSV.decode()], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["ready"] and out["ping"] == 200
    expected = Predictor.from_settings(ModelSettings(code_dir=code_dir)).predict(pd.read_csv(io.BytesIO(CSV)))
    assert out["predict"][0] == "200 OK"
    assert json.loads(out["predict"][1])["predictions"] == expected.frame["Predictions"].tolist()
    assert out["bad_csv"] == "422 Unprocessable Entity"
    assert not out["flask_after_start"] and not out["flask_after_lean"]
    assert out["info"] == [200, "regression"] and out["flask_after_info"]


def worker_app(code_dir):
    state = ServerState(predictor=None, settings=ServerSettings())
    return create_worker_app(Predictor.from_settings(ModelSettings(code_dir=code_dir)), ServerSettings(),
                             state=state)


def test_an_extended_code_dir_gets_the_flask_app_at_once(tmp_path_factory):
    code_dir = servermodels.hooks_dir(tmp_path_factory.mktemp("extended"))
    write(code_dir, "custom_flask.py", "def init_app(app):\n    pass\n")
    app = worker_app(code_dir)
    assert type(app).__name__ == "Flask" and "custom_flask" in sys.modules


@pytest.mark.parametrize("path", ["/ping/", "/ping", "/"])
def test_ping_is_answered_by_the_envelope_as_flask_answers_it(tmp_path_factory, path):
    from drumkit.server.app import _get, create_app

    code_dir = servermodels.hooks_dir(tmp_path_factory.mktemp("ping"))
    lean = worker_app(code_dir)
    assert isinstance(lean.inner, FlaskOnDemand) and lean.inner.app is None
    status, headers, body = _get(lean, path)
    assert lean.inner.app is None  # answered without building Flask
    flask_status, flask_headers, flask_body = _get(create_app(Predictor.from_settings(
        ModelSettings(code_dir=code_dir))), path)
    assert (status, json.loads(body)) == (flask_status, json.loads(flask_body)) == (200, {"message": "OK"})
    assert headers["content-type"] == flask_headers["content-type"]
    assert headers["x-drum-version"] == flask_headers["x-drum-version"]
