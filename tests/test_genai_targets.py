"""GenAI target types on score, /predict/ and validate: textgeneration, agenticworkflow, vectordatabase, geopoint, multilabel."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pyarrow.feather
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from drumkit import cli
from drumkit.errors import ModelLoadError
from drumkit.predictor.hooks import load_hooks
from drumkit.predictor.predictor import Predictor
from drumkit.predictor.settings import ModelSettings
from drumkit.server.app import create_app
from tests import genaimodels
from tests.modelzoo import write

ENV = ("TARGET_TYPE", "CLASS_LABELS", "CLASS_LABELS_FILE", "CODE_DIR", "TARGET_NAME", "POSITIVE_CLASS_LABEL",
       "NEGATIVE_CLASS_LABEL", "RUNTIME_PARAMS_FILE", "SHOW_STACKTRACE")
LABELS = ["red", "green", "blue"]
NEW_TYPES = ["textgeneration", "agenticworkflow", "vectordatabase", "geopoint", "multilabel"]

# One score hook for every new type: text for the LLM types, ints for geopoint, probabilities per label for
# multilabel (rows need not sum to 1).
TYPES_CUSTOM = '''
import pandas as pd


def load_model(code_dir):
    return "model"


def score(data, model, **kwargs):
    target_type = str(kwargs["target_type"])
    x = [int(v) for v in data["x"]]
    if target_type == "multilabel":
        labels = kwargs["class_labels"]
        return pd.DataFrame({label: [((v * (i + 1)) % 10) / 10 for v in x] for i, label in enumerate(labels)})
    if target_type == "geopoint":
        return pd.DataFrame({"Predictions": [v * 3 for v in x]})
    return pd.DataFrame({"Predictions": [f"{target_type} says {v}" for v in x]})
'''


def run(*args, env: dict | None = None):
    """`drumkit ARGS` in-process; env vars not given are unset."""
    clean = {name: None for name in ENV}
    clean.update(env or {})
    return CliRunner().invoke(cli.app, cli.expand_nargs([str(a) for a in args]), env=clean, catch_exceptions=False)


def hook_score(code_dir, frame, target_type, labels=None):
    """The model's own answer, from its score hook called in-process."""
    spec = importlib.util.spec_from_file_location("types_custom_in_test", code_dir / "custom.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kwargs = {"target_type": target_type, **({"class_labels": labels} if labels else {})}
    return module.score(frame, module.load_model(str(code_dir)), **kwargs)


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("genai-rows")
    frame = pd.DataFrame({"x": [1, 2, 3, 7]})
    path = folder / "rows.csv"
    frame.to_csv(path, index=False)
    return frame, path


def types_dir(root, target_type: str | None = None):
    """The types code dir; with a target type, its model-metadata.yaml names it (and the labels)."""
    path = root / f"types-{target_type or 'plain'}"
    path.mkdir(parents=True, exist_ok=True)
    write(path, "custom.py", TYPES_CUSTOM)
    if target_type:
        text = f"name: t\ntype: inference\ntargetType: {target_type}\n"
        if target_type == "multilabel":
            text += "inferenceModel:\n  classLabels:\n" + "".join(f"    - {label}\n" for label in LABELS)
        write(path, "model-metadata.yaml", text)
    return path


@pytest.mark.parametrize("source", ["flag", "env", "metadata"])
@pytest.mark.parametrize("target_type", NEW_TYPES)
def test_score_every_new_type_from_flags_env_or_metadata(tmp_path, rows, target_type, source):
    frame, input_path = rows
    code_dir = types_dir(tmp_path, target_type if source == "metadata" else None)
    output = tmp_path / "out.csv"
    args = ["score", "--code-dir", code_dir, "--input", input_path, "--output", output]
    env = {}
    if source == "flag":
        args += ["--target-type", target_type] + (["--class-labels", *LABELS] if target_type == "multilabel" else [])
    elif source == "env":
        env = {"TARGET_TYPE": target_type, **({"CLASS_LABELS": " ".join(LABELS)} if target_type == "multilabel" else {})}
    result = run(*args, env=env)
    assert result.exit_code == 0, result.stderr
    written = pd.read_csv(output, keep_default_na=False)
    expected = hook_score(code_dir, frame, target_type, LABELS if target_type == "multilabel" else None)
    if target_type == "multilabel":
        assert list(written.columns) == LABELS
        assert (written.sum(axis=1) != 1).any()  # no sum-to-one rule for multilabel
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)


@pytest.mark.parametrize("target_type", NEW_TYPES)
def test_predict_json_keeps_values_as_the_model_gave_them(tmp_path, rows, target_type):
    frame, input_path = rows
    code_dir = types_dir(tmp_path, target_type)
    predictor = Predictor.from_settings(ModelSettings(code_dir=code_dir))
    response = create_app(predictor).test_client().post("/predict/", data=input_path.read_bytes(),
                                                         content_type="text/csv")
    assert response.status_code == 200, response.get_data(as_text=True)
    expected = hook_score(code_dir, frame, target_type, LABELS if target_type == "multilabel" else None)
    if target_type == "multilabel":
        assert response.json["predictions"] == expected.to_dict(orient="records")
    else:
        # Text stays text and geopoint ints stay ints (DRUM casts only the other types to float).
        assert response.json["predictions"] == expected["Predictions"].tolist()
        assert "3.0" not in response.get_data(as_text=True)


@pytest.mark.parametrize("suffix", [".parquet", ".arrow"])
def test_generated_text_written_to_parquet_and_arrow_stays_text(tmp_path, suffix):
    prompts = genaimodels.prompt_csv(tmp_path / "prompts.csv")
    output = tmp_path / f"out{suffix}"
    result = run("score", "--code-dir", genaimodels.dummy_textgen_dir(tmp_path), "--input", prompts, "--output", output)
    assert result.exit_code == 0, result.stderr
    table = pq.read_table(output) if suffix == ".parquet" else pyarrow.feather.read_table(output)
    assert str(table.schema.field("Predictions").type) in ("string", "large_string")
    assert table.column("Predictions").to_pylist() == genaimodels.reversed_prompts()


def test_score_a_prompt_csv_writes_the_generated_text(tmp_path):
    prompts = genaimodels.prompt_csv(tmp_path / "prompts.csv")
    code_dir = genaimodels.dummy_chat_dir(tmp_path)
    result = run("score", "--code-dir", code_dir, "--input", prompts)
    assert result.exit_code == 0, result.stderr
    written = pd.read_csv(pd.io.common.StringIO(result.stdout))
    expected = hook_score(code_dir, pd.read_csv(prompts), "textgeneration")
    assert written["Predictions"].tolist() == expected["output"].tolist() == genaimodels.reversed_prompts()


def test_target_name_picks_the_prediction_column_among_extra_output(tmp_path):
    prompts = genaimodels.prompt_csv(tmp_path / "prompts.csv")
    code_dir = genaimodels.textgen_extra_dir(tmp_path)
    for name in ("completion", '"completion"'):  # DRUM strips surrounding quotes
        output = tmp_path / "out.csv"
        result = run("score", "--code-dir", code_dir, "--input", prompts, "--output", output,
                     "--target-type", "textgeneration", env={"TARGET_NAME": name})
        assert result.exit_code == 0, result.stderr
        written = pd.read_csv(output)
        assert list(written.columns) == ["Predictions", "length"]
        assert written["Predictions"].tolist() == [p.upper() for p in genaimodels.PROMPTS]
    predictor = Predictor.from_settings(ModelSettings(code_dir=code_dir, target_type="agenticworkflow",
                                                      target_name="completion"))
    body = create_app(predictor).test_client().post("/predict/", data=prompts.read_bytes(), content_type="text/csv").json
    assert body["predictions"] == [p.upper() for p in genaimodels.PROMPTS]
    assert body["extraModelOutput"]["columns"] == ["length"]
    assert [row[0] for row in body["extraModelOutput"]["data"]] == [len(p) for p in genaimodels.PROMPTS]


def test_extra_output_without_target_name_is_one_line_naming_it(tmp_path):
    prompts = genaimodels.prompt_csv(tmp_path / "prompts.csv")
    result = run("score", "--code-dir", genaimodels.textgen_extra_dir(tmp_path), "--input", prompts,
                 "--target-type", "vectordatabase")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "TARGET_NAME" in lines[0] and "Traceback" not in result.stderr


def test_predict_unstructured_on_textgeneration(tmp_path):
    with_hook = Predictor.from_settings(ModelSettings(code_dir=genaimodels.textgen_extra_dir(tmp_path),
                                                      target_type="textgeneration"))
    response = create_app(with_hook).test_client().post("/predictUnstructured/", data="guard me",
                                                        content_type="text/plain")
    assert response.status_code == 200 and response.get_data(as_text=True) == "unstructured: GUARD ME"
    without = Predictor.from_settings(ModelSettings(code_dir=genaimodels.dummy_textgen_dir(tmp_path)))
    response = create_app(without).test_client().post("/predictUnstructured/", data="x", content_type="text/plain")
    assert response.status_code == 422 and "no score_unstructured hook" in response.json["message"]


# A chat-only code dir: no load_model, no artifact, a hook returning plain dicts (no openai needed).
DICT_CHAT_CUSTOM = '''
def chat(completion_create_params, model):
    text = completion_create_params["messages"][-1]["content"]
    if text == "bad":
        return "not a completion"
    if completion_create_params.get("stream"):
        return ({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": w}}]}
                for w in text.split())
    return {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text[::-1]}}]}
'''


@pytest.fixture(scope="module")
def dict_chat(tmp_path_factory):
    path = tmp_path_factory.mktemp("dict-chat")
    write(path, "custom.py", DICT_CHAT_CUSTOM)
    predictor = Predictor.from_settings(ModelSettings(code_dir=path, target_type="agenticworkflow"))
    return path, create_app(predictor).test_client()


def test_chat_hook_returning_dicts_needs_neither_artifact_nor_openai(dict_chat):
    _, web = dict_chat
    body = {"model": "m", "messages": [{"role": "user", "content": "abc"}]}
    answer = web.post("/v1/chat/completions", json=body)
    assert answer.status_code == 200 and answer.json["choices"][0]["message"]["content"] == "cba"
    streamed = web.post("/chat/completions/", json={**body, "stream": True})
    events = [e for e in streamed.get_data(as_text=True).split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    assert [json.loads(e[6:])["choices"][0]["delta"]["content"] for e in events[:-1]] == ["abc"]
    assert web.get("/models").json == {"object": "list", "data": []}


def test_chat_only_model_answers_predict_with_the_route_to_use(dict_chat):
    _, web = dict_chat
    answer = web.post("/predict/", data=b"x\n1\n", content_type="text/csv")
    assert answer.status_code == 422 and "/chat/completions" in answer.json["message"]


def test_chat_hook_returning_something_else_is_a_500_naming_the_shapes(dict_chat):
    _, web = dict_chat
    answer = web.post("/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "bad"}]})
    assert answer.status_code == 500
    assert answer.json["message"].startswith("ERROR: Expected response to be ChatCompletion or Iterable[ChatCompletionChunk]")


def test_models_route_on_a_model_that_does_not_chat_is_a_404(regression_model):
    web = create_app(Predictor.from_settings(ModelSettings(code_dir=regression_model.path, target_type="regression")))
    answer = web.test_client().get("/v1/models")
    assert answer.status_code == 404
    assert answer.json == {"message": "ERROR: get_supported_llm_models is supported only for TextGen models"}
    chat = web.test_client().post("/chat/completions", json={"messages": []})
    assert chat.status_code == 404 and "chat is not supported" in chat.json["message"]


def test_missing_openai_names_the_genai_extra(tmp_path):
    # As if the extra were not installed: the import fails the way it would, and the module is restored after.
    custom = write(tmp_path, "custom.py", '''
        import sys
        saved = sys.modules.get("openai")
        sys.modules["openai"] = None
        try:
            import openai
        finally:
            if saved is None:
                del sys.modules["openai"]
            else:
                sys.modules["openai"] = saved
        ''')
    with pytest.raises(ModelLoadError) as info:
        load_hooks(custom)
    assert "pip install 'drumkit[genai]'" in info.value.message and "\n" not in info.value.message


def test_validate_a_text_model(tmp_path):
    prompts = genaimodels.prompt_csv(tmp_path / "prompts.csv")
    code_dir = genaimodels.dummy_chat_dir(tmp_path)
    result = run("validate", code_dir, "--input", prompts, "--json", "--deterministic")
    assert result.exit_code == 0, result.stderr
    checks = {c["check"]: c["status"] for c in json.loads(result.stdout)["checks"]}
    assert checks["Chat completion"] == checks["Basic batch prediction"] == checks["Deterministic predictions"] == "PASSED"
    assert checks["Null value imputation"] == checks["Row by row equals batch"] == "SKIPPED"
    plain = json.loads(run("validate", code_dir, "--input", prompts, "--json").stdout)
    assert {c["check"]: c["status"] for c in plain["checks"]}["Deterministic predictions"] == "SKIPPED"


def test_validate_fails_a_nondeterministic_text_model_that_declares_determinism(tmp_path):
    code_dir = tmp_path / "random"
    code_dir.mkdir()
    write(code_dir, "custom.py", '''
        import random
        import pandas as pd

        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": [p + str(random.random()) for p in data["input"]]})
        ''')
    prompts = genaimodels.prompt_csv(tmp_path / "prompts.csv")
    result = run("validate", code_dir, "--input", prompts, "--target-type", "textgeneration", "--json", "--deterministic")
    assert result.exit_code == 1
    checks = {c["check"]: c["status"] for c in json.loads(result.stdout)["checks"]}
    assert checks["Deterministic predictions"] == "FAILED" and checks["Basic batch prediction"] == "PASSED"


def test_validate_a_chat_only_model_and_a_failing_chat_hook(dict_chat, tmp_path):
    path, _ = dict_chat
    result = run("validate", path, "--target-type", "agenticworkflow", "--json")
    assert result.exit_code == 0, result.stderr
    checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["Chat completion"]["status"] == "PASSED"
    assert checks["Basic batch prediction"]["status"] == "SKIPPED"
    broken = tmp_path / "broken-chat"
    broken.mkdir()
    write(broken, "custom.py", 'def chat(params, model):\n    raise RuntimeError("no backend")\n')
    failed = run("validate", broken, "--target-type", "textgeneration", "--json")
    assert failed.exit_code == 1
    chat = {c["check"]: c for c in json.loads(failed.stdout)["checks"]}["Chat completion"]
    assert chat["status"] == "FAILED" and "no backend" in chat["details"]


def test_error_server_answers_chat_and_models_with_the_load_error():
    web = create_app(None, load_error="Failed loading hooks from [custom.py] : boom").test_client()
    for answer in (web.post("/v1/chat/completions", json={"messages": []}), web.get("/models")):
        assert answer.status_code == 513
        assert answer.json == {"message": "ERROR: Failed loading hooks from [custom.py] : boom"}


def test_list_values_stay_lists_in_predict_json(tmp_path):
    # A geopoint or vectordatabase hook may answer one list per row (coordinates, an embedding).
    code_dir = tmp_path / "lists"
    code_dir.mkdir()
    write(code_dir, "custom.py", '''
        import numpy as np
        import pandas as pd

        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": [np.array([float(v), v * 0.5]) for v in data["x"]]})
        ''')
    predictor = Predictor.from_settings(ModelSettings(code_dir=code_dir, target_type="geopoint"))
    answer = create_app(predictor).test_client().post("/predict/", data=b"x\n2\n4\n", content_type="text/csv")
    assert answer.status_code == 200 and answer.json == {"predictions": [[2.0, 1.0], [4.0, 2.0]]}


def test_chat_and_models_routes_carry_drums_endpoint_names(tmp_path):
    """Auth extensions exempt or guard routes by endpoint name: chat routes sit on `model_api` like the rest."""
    from drumkit.predictor.predictor import Predictor
    from drumkit.predictor.settings import ModelSettings
    from drumkit.server.app import create_app

    predictor = Predictor.from_settings(ModelSettings(code_dir=genaimodels.dummy_chat_dir(tmp_path)))
    app = create_app(predictor)
    endpoints = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}
    for path in ("/chat/completions", "/v1/chat/completions/"):
        assert endpoints[path] == "model_api.chat"
    for path in ("/models", "/v1/models/"):
        assert endpoints[path] == "model_api.get_supported_llm_models"
