"""`drumkit new model`: each template is generated, scored and validated as it comes, with no edits."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SAMPLES = {"python": "sample.csv", "sklearn": "sample.csv", "unstructured": "sample.txt", "chat": "sample.csv"}


def drumkit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drumkit", *args], capture_output=True, cwd=cwd, timeout=180)


def import_custom(folder: Path):
    """The generated custom.py as its own module (not `custom`, to keep the predictor's import untouched)."""
    spec = importlib.util.spec_from_file_location(f"generated_{folder.name}", folder / "custom.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One folder per template, made by the CLI (sklearn's train.py run once)."""
    root = tmp_path_factory.mktemp("new_models")
    folders = {}
    for template in SAMPLES:
        folder = root / f"my_{template}"
        out = drumkit("new", "model", str(folder), "--template", template)
        assert out.returncode == 0, out.stderr
        folders[template] = folder
    train = subprocess.run([sys.executable, str(folders["sklearn"] / "train.py")], capture_output=True, timeout=180)
    assert train.returncode == 0, train.stderr
    return folders


@pytest.mark.parametrize("template", list(SAMPLES))
def test_template_has_metadata_readme_and_sample(generated, template):
    folder = generated[template]
    names = {p.name for p in folder.iterdir()}
    assert {"custom.py", "model-metadata.yaml", "README.md", SAMPLES[template]} <= names
    assert f"name: my_{template}\n" in (folder / "model-metadata.yaml").read_text()
    readme = (folder / "README.md").read_text()
    assert "{{" not in readme and f"drumkit new model {folder}" in readme


def test_python_template_writes_out_every_structured_hook(generated):
    module = import_custom(generated["python"])
    for hook in ("init", "load_model", "read_input_data", "transform", "score", "post_process"):
        assert callable(getattr(module, hook)), hook
        assert getattr(module, hook).__doc__, hook


def test_python_template_scores_its_sample_like_its_own_hooks(generated):
    folder = generated["python"]
    out = drumkit("score", "--code-dir", str(folder), "--input", str(folder / "sample.csv"))
    assert out.returncode == 0, out.stderr
    got = pd.read_csv(io.BytesIO(out.stdout))
    module = import_custom(folder)
    model = module.load_model(str(folder))
    data = module.read_input_data((folder / "sample.csv").read_bytes())
    expected = module.post_process(module.score(module.transform(data, model), model), model)
    np.testing.assert_allclose(got["Predictions"].to_numpy(), expected["Predictions"].to_numpy())


def test_python_template_runs_on_any_tabular_csv(generated, regression_model):
    folder = generated["python"]
    out = drumkit("score", "--code-dir", str(folder), "--input", str(regression_model.csv))
    assert out.returncode == 0, out.stderr
    assert len(pd.read_csv(io.BytesIO(out.stdout))) == len(regression_model.features)


def test_sklearn_template_scores_like_the_trained_pipeline(generated):
    folder = generated["sklearn"]
    out = drumkit("score", "--code-dir", str(folder), "--input", str(folder / "sample.csv"))
    assert out.returncode == 0, out.stderr
    got = pd.read_csv(io.BytesIO(out.stdout))
    with open(folder / "model.pkl", "rb") as handle:
        model = pickle.load(handle)
    expected = model.predict(pd.read_csv(folder / "sample.csv"))
    np.testing.assert_allclose(got["Predictions"].to_numpy(), expected, rtol=1e-9)


def test_unstructured_template_answers_like_its_hook(generated):
    folder = generated["unstructured"]
    out = drumkit("score", "--code-dir", str(folder), "--input", str(folder / "sample.txt"))
    assert out.returncode == 0, out.stderr
    module = import_custom(folder)
    body, _ = module.score_unstructured(module.load_model(str(folder)), (folder / "sample.txt").read_text())
    assert json.loads(out.stdout) == json.loads(body)


@pytest.mark.parametrize("template", list(SAMPLES))
def test_generated_model_passes_validate(generated, template):
    out = drumkit("validate", str(generated[template]), "--json")
    assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()
    report = json.loads(out.stdout)
    statuses = {c["check"]: c["status"] for c in report["checks"]}
    assert statuses["Model metadata"] == statuses["Basic batch prediction"] == "PASSED"
    if template == "chat":
        assert statuses["Chat completion"] == "PASSED"
        assert statuses["Null value imputation"] == statuses["Row by row equals batch"] == "SKIPPED"
    elif template != "unstructured":
        assert statuses["Null value imputation"] == statuses["Row by row equals batch"] == "PASSED"


def test_chat_template_scores_prompts_like_its_own_generator(generated):
    folder = generated["chat"]
    out = drumkit("score", "--code-dir", str(folder), "--input", str(folder / "sample.csv"))
    assert out.returncode == 0, out.stderr
    got = pd.read_csv(io.BytesIO(out.stdout))
    module = import_custom(folder)
    model = module.load_model(str(folder))
    prompts = pd.read_csv(folder / "sample.csv")["promptText"]
    expected = [" ".join(model.generate(p)) for p in prompts]
    assert got["Predictions"].tolist() == expected and all(expected)
    deterministic = drumkit("validate", str(folder), "--deterministic", "--json")
    assert deterministic.returncode == 0
    checks = {c["check"]: c["status"] for c in json.loads(deterministic.stdout)["checks"]}
    assert checks["Deterministic predictions"] == "PASSED"


def test_chat_template_served_to_the_openai_client(generated, tmp_path):
    import openai

    from tests import serverproc

    folder = generated["chat"]
    module = import_custom(folder)
    model = module.load_model(str(folder))
    prompt = "Tell me about the snare"
    expected = " ".join(model.generate(prompt))
    server = serverproc.start(["--code-dir", str(folder)], tmp_path)
    try:
        client = openai.OpenAI(base_url=server.url("/v1"), api_key="not-needed", max_retries=0, timeout=30)
        assert [m.id for m in client.models.list()] == [module.MODEL_ID]
        whole = client.chat.completions.create(model=module.MODEL_ID, messages=[{"role": "user", "content": prompt}])
        assert whole.choices[0].message.content == expected
        assert whole.usage.completion_tokens == len(expected.split())
        stream = client.chat.completions.create(model=module.MODEL_ID, stream=True,
                                                messages=[{"role": "user", "content": prompt}])
        chunks = list(stream)
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected
        assert len(chunks) == len(expected.split()) + 1 and chunks[-1].choices[0].finish_reason == "stop"
    finally:
        assert server.stop() == 0


def test_sklearn_template_before_training_says_what_to_do(tmp_path):
    folder = tmp_path / "untrained"
    assert drumkit("new", "model", "--code-dir", str(folder), "--template", "sklearn").returncode == 0
    out = drumkit("score", "--code-dir", str(folder), "--input", str(folder / "sample.csv"))
    assert out.returncode == 1
    assert b"run `python train.py`" in out.stderr and b"Traceback" not in out.stderr


def test_next_line_runs_as_printed_without_the_venv_on_path(tmp_path):
    """The sklearn template's "Next:" line trains, scores and validates from a shell that only has system paths."""
    out = drumkit("new", "model", str(tmp_path / "fresh"), "--template", "sklearn")
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stderr.decode().splitlines() if line.startswith("Next: "))
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(["bash", "-c", line.removeprefix("Next: ")], capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert b"All checks passed." in done.stdout or b"check(s) failed" in done.stdout
    assert (tmp_path / "fresh" / "model.pkl").is_file()


def test_existing_folder_is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    out = drumkit("new", "model", str(folder))
    assert out.returncode == 2
    assert b"already exists" in out.stderr and b"Traceback" not in out.stderr
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no staging folder left behind


def test_other_languages_and_unknown_templates_are_usage_errors(tmp_path):
    r = drumkit("new", "model", str(tmp_path / "r_model"), "--language", "r")
    assert r.returncode == 2 and b"Python models only" in r.stderr
    unknown = drumkit("new", "model", str(tmp_path / "x"), "--template", "pytorch")
    assert unknown.returncode == 2
    assert unknown.stderr.decode().strip() == (
        "Error: Unknown template 'pytorch'; choose one of python, sklearn, unstructured, chat")
    assert not (tmp_path / "r_model").exists() and not (tmp_path / "x").exists()
