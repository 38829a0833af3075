"""`drumkit perf` on chat models: TTFT, inter-token latency, tokens/s and total latency, streamed and whole."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from tests import genaimodels


def perf(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drumkit", "perf", *map(str, args)], capture_output=True, text=True,
                          timeout=240)


def test_perf_on_the_dummy_chat_model_counts_every_token(tmp_path):
    prompts = genaimodels.prompt_csv(tmp_path / "prompts.csv")
    out = tmp_path / "perf.csv"
    run = perf("--code-dir", genaimodels.dummy_chat_dir(tmp_path), "--input", prompts, "-i", 5, "--json", "--csv", out)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    whole, streamed = report["cases"]
    assert (whole["name"], whole["streaming"], streamed["streaming"]) == ("chat, whole", False, True)
    # The dummy echoes "Echo: <prompt>": one token per word whole, one content chunk per word streamed.
    expected = sum(len(("Echo: " + genaimodels.PROMPTS[i % 3]).split()) for i in range(5))
    for case in (whole, streamed):
        assert case["status"] == "ok" and case["completed"] == 5
        assert case["tokens"] == expected
        assert case["ttft_p50_s"] <= case["p50_s"] and case["tokens_per_s"] > 0
        assert case["server_rss_mb"] > 0
    assert whole["itl_p50_s"] is None and streamed["itl_p50_s"] is not None
    rows = list(csv.DictReader(out.open()))
    assert [r["name"] for r in rows] == ["chat, whole", "chat, streamed"] and rows[1]["ttft_p99_s"]


def test_perf_figures_follow_a_paced_model(tmp_path):
    run = perf("--code-dir", genaimodels.paced_chat_dir(tmp_path), "-i", 3, "--json")
    assert run.returncode == 0, run.stderr
    whole, streamed = json.loads(run.stdout)["cases"]
    words = len(genaimodels.PACED_WORDS)
    least_total = genaimodels.FIRST_TOKEN_S + genaimodels.TOKEN_GAP_S * (words - 1)
    assert streamed["ttft_p50_s"] >= genaimodels.FIRST_TOKEN_S
    assert streamed["itl_p50_s"] >= genaimodels.TOKEN_GAP_S
    # Streamed, the first token comes well before the end; whole, it comes with the end.
    assert streamed["ttft_p50_s"] < streamed["p50_s"] - genaimodels.TOKEN_GAP_S * (words - 2)
    assert whole["ttft_p50_s"] == whole["p50_s"] >= least_total
    assert streamed["p50_s"] >= least_total
    assert streamed["tokens"] == whole["tokens"] == 3 * words
    assert streamed["tokens_per_s"] <= words / least_total


def test_perf_on_a_chat_model_renders_the_llm_table(tmp_path):
    run = perf("--code-dir", genaimodels.paced_chat_dir(tmp_path), "-i", 1)
    assert run.returncode == 0, run.stderr
    for header in ("TTFT p50", "ITL p99", "tokens/s", "total p99", "chat, streamed"):
        assert header in run.stdout
    assert "Traceback" not in run.stderr


def test_perf_reports_a_stream_that_fails_and_exits_1(tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("midfail\n")
    run = perf("--code-dir", genaimodels.dummy_chat_dir(tmp_path), "--input", prompts, "-i", 2, "--json")
    assert run.returncode == 1
    whole, streamed = json.loads(run.stdout)["cases"]
    assert whole["status"] == "ok" and whole["completed"] == 2
    assert streamed["status"] == "failed" and streamed["completed"] == 0
    assert streamed["error"] == "the stream failed: the stream broke on purpose"


def test_prompts_come_from_a_csv_prompt_column_or_a_text_file(tmp_path):
    from drumkit.perf.chat import load_prompts

    table = tmp_path / "prompts.csv"
    table.write_text('id,promptText\n1,"Hello, there"\n2,\n3,second one\n')
    assert load_prompts(table) == ["Hello, there", "second one"]
    lines = tmp_path / "prompts.txt"
    lines.write_text("first\n\n  second  \n")
    assert load_prompts(lines) == ["first", "second"]
