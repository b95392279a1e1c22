"""Customer fidelity: role-inversion rates, BLEU/ROUGE/cosine, replay, and the CB benchmark."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from salesenv.customers.base import CustomerLM, CustomerReply
from salesenv.customers.chat import ChatBackend, SamplingConfig
from salesenv.customers.fidelity import (
    bleu4,
    customer_texts,
    embedding_cosine,
    raw_inversion,
    residual_inversion,
    rouge,
    rouge_l,
    rouge_n,
    text_tokens,
    user_likeness,
)
from salesenv.customers.replay import ReplayCase, ReplayTurn, replay
from salesenv.dialogue import Dialogue, Turn
from salesenv.scenarios.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "customer_fidelity.py"
CB_DATA = ROOT.parent / "shared" / "realdata" / "craigslistbargain" / "cb_dialogues.jsonl"
needs_cb = pytest.mark.skipif(
    not CB_DATA.is_file(),
    reason=f"CraigslistBargain data not found at {CB_DATA} (shared/ beside the repository)",
)

needs_sacrebleu = pytest.mark.skipif(
    importlib.util.find_spec("sacrebleu") is None,
    reason="BLEU needs sacrebleu: pip install -e .[metrics] (make test installs it)",
)

INVERTED = "Welcome to our store, how can I help you?"
PLAIN = "What is the lowest you would take?"


# -- role inversion -------------------------------------------------------------------------


def test_inversion_per_turn_and_per_dialogue_differ():
    # 10 customer turns in 4 dialogues; one inverted turn, in one dialogue.
    transcripts = [[PLAIN] * 3, [PLAIN, INVERTED, PLAIN], [PLAIN] * 2, [PLAIN] * 2]
    rate = residual_inversion(transcripts)
    assert (rate.dialogues, rate.turns, rate.inverted_turns, rate.inverted_dialogues) == (
        4,
        10,
        1,
        1,
    )
    assert rate.per_turn == pytest.approx(0.1)
    assert rate.per_dialogue == pytest.approx(0.25)
    assert rate.per_generation is None
    assert rate.as_dict()["per_dialogue"] == pytest.approx(0.25)


def test_inversion_uses_the_guard_detector_in_both_languages():
    rate = residual_inversion([["有什么可以帮您？我们的产品很好。"], ["这个多少钱？"]])
    assert rate.inverted_turns == 1 and rate.per_dialogue == 0.5


def test_raw_inversion_reads_flags_before_regeneration():
    flags = [
        [{"role_inversion": 0}, {"role_inversion": 2, "regenerated": 2, "fallback": 1}],
        [{}, {"role_inversion": 1, "regenerated": 1}, {}],
        [{"wrong_language": 1, "regenerated": 1}],
        [{}],
    ]
    rate = raw_inversion(flags)
    assert (rate.turns, rate.inverted_turns, rate.inverted_dialogues) == (7, 2, 2)
    assert rate.per_turn == pytest.approx(2 / 7)
    assert rate.per_dialogue == pytest.approx(0.5)
    # 7 first drafts + 4 regenerations checked, 3 of them inverted.
    assert (rate.generations, rate.inverted_generations) == (11, 3)
    assert rate.per_generation == pytest.approx(3 / 11)


def test_empty_input_gives_zero_rates_and_bad_shapes_are_rejected():
    assert residual_inversion([]).per_turn == 0.0 and raw_inversion([]).per_dialogue == 0.0
    with pytest.raises(TypeError, match="one sequence per dialogue"):
        residual_inversion(["a single transcript string"])
    with pytest.raises(TypeError, match="one mapping per customer turn"):
        raw_inversion([[1, 2]])


def test_customer_texts_drop_the_trigger():
    scenario = _scenario()
    dialogue = Dialogue(
        scenario,
        (Turn("customer", "Hi"), Turn("salesperson", "Hello"), Turn("customer", PLAIN)),
    )
    assert customer_texts(dialogue) == [PLAIN]
    assert customer_texts(dialogue, include_trigger=True) == ["Hi", PLAIN]


# -- text overlap ---------------------------------------------------------------------------


def test_tokens_are_words_in_english_and_characters_in_chinese():
    assert text_tokens("The Cat's 2 mats!", "en") == ["the", "cat", "s", "2", "mats"]
    assert text_tokens("这个iPhone 6s多少钱？", "zh") == [
        "这",
        "个",
        "iphone",
        "6s",
        "多",
        "少",
        "钱",
    ]
    with pytest.raises(ValueError, match="language must be one of"):
        text_tokens("hi", "fr")


@needs_sacrebleu
def test_bleu4_english_by_hand():
    # Precisions 5/6, 3/5, 2/4, 1/3, equal lengths: BLEU = (1/12) ** (1/4).
    score, signature = bleu4(["the cat sat on the mat"], ["the cat sat on a mat"], "en")
    assert score == pytest.approx(100 * (1 / 12) ** 0.25)
    assert "tok:13a" in signature and "case:lc" in signature
    # 13a makes the full stop a token: 5/7, 3/6, 2/5, 1/4 (hypothesis longer, no penalty).
    score, _ = bleu4(["The cat sat on the mat."], ["the cat sat on a mat"], "en")
    assert score == pytest.approx(100 * (1 / 28) ** 0.25)
    assert bleu4(["a b c d"], ["a b c d"], "en")[0] == pytest.approx(100.0)


@needs_sacrebleu
def test_bleu4_chinese_uses_characters():
    # hyp 7 chars, ref 8: precisions 7/7, 5/6, 3/5, 1/4; brevity penalty exp(1 - 8/7).
    score, signature = bleu4(["这个沙发多少钱"], ["这个沙发要多少钱"], "zh")
    assert score == pytest.approx(100 * math.exp(1 - 8 / 7) * (1 / 8) ** 0.25)
    assert "tok:zh" in signature
    # As English (13a), the sentence is one word and nothing matches.
    assert bleu4(["这个沙发多少钱"], ["这个沙发要多少钱"], "en")[0] == 0.0


def test_rouge_english_by_hand():
    scores = rouge(["The cat sat on the mat."], ["the cat sat on a mat"], "en")
    assert scores["rouge1"] == pytest.approx(5 / 6)
    assert scores["rouge2"] == pytest.approx(3 / 5)
    assert scores["rougeL"] == pytest.approx(5 / 6)  # LCS: the cat sat on mat


def test_rouge_chinese_by_hand():
    scores = rouge(["这个沙发多少钱"], ["这个沙发要多少钱"], "zh")
    assert scores["rouge1"] == pytest.approx(14 / 15)  # P 7/7, R 7/8
    assert scores["rouge2"] == pytest.approx(10 / 13)  # P 5/6, R 5/7
    assert scores["rougeL"] == pytest.approx(14 / 15)  # LCS 7


def test_rouge_averages_pairs_and_handles_empty_turns():
    scores = rouge(["the cat", "", "x y"], ["the cat", "anything", "y x"], "en")
    assert scores["rouge1"] == pytest.approx((1 + 0 + 1) / 3)
    assert scores["rouge2"] == pytest.approx((1 + 0 + 0) / 3)
    assert scores["rougeL"] == pytest.approx((1 + 0 + 0.5) / 3)
    assert rouge_n([], [], 1) == 0.0 and rouge_l([], ["a"]) == 0.0
    with pytest.raises(ValueError, match="n >= 1"):
        rouge_n(["a"], ["a"], 0)


def test_rouge_matches_rouge_score_on_english():
    rouge_scorer = pytest.importorskip(
        "rouge_score.rouge_scorer", reason="rouge-score is a dev dependency"
    )
    hypotheses = [
        "Would you take $120 for it? I can pick it up today.",
        "Is the bike still available, and does it come with the lock?",
        "That's too much for me. How about 80 dollars?",
        "Deal, I'll take it!",
        "",
    ]
    references = [
        "I could do 120 and pick it up tonight if that works.",
        "Hi, is this bike still for sale? Does the lock come with it?",
        "Hmm, that is a bit much. Would you do 80?",
        "ok deal, thanks",
        "ok",
    ]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    theirs = [scorer.score(r, h) for h, r in zip(hypotheses, references, strict=True)]
    ours = rouge(hypotheses, references, "en")
    for name in ("rouge1", "rouge2", "rougeL"):
        expected = sum(s[name].fmeasure for s in theirs) / len(theirs)
        assert ours[name] == pytest.approx(expected, abs=1e-12)
    # rouge-score drops non-ASCII text, which is why Chinese needs our tokens.
    assert scorer.score("这个沙发要多少钱", "这个沙发多少钱")["rouge1"].fmeasure == 0.0


def test_metric_input_errors_say_what_to_do():
    with pytest.raises(ValueError, match="one reference per generated turn"):
        rouge(["a"], ["a", "b"], "en")
    with pytest.raises(ValueError, match="no turns to compare"):
        bleu4([], [], "en")
    with pytest.raises(TypeError, match="lists of turns"):
        rouge("a", "a", "en")
    with pytest.raises(ValueError, match="language must be one of"):
        bleu4(["a"], ["a"], "de")


# -- embeddings -----------------------------------------------------------------------------


def toy_encoder(texts):
    """Deterministic bag of letters a-z: a 26-dim count vector per text."""
    rows = np.zeros((len(texts), 26))
    for i, text in enumerate(texts):
        for ch in text.lower():
            if "a" <= ch <= "z":
                rows[i, ord(ch) - ord("a")] += 1
    return rows


def test_embedding_cosine_with_a_toy_encoder():
    # "ab" vs "ab": 1; "a" vs "b": 0; "aab" vs "ab": (2+1)/(sqrt5*sqrt2); "" vs "a": zero vector -> 0.
    value = embedding_cosine(["ab", "a", "aab", ""], ["ab", "b", "ab", "a"], toy_encoder)
    assert value == pytest.approx((1 + 0 + 3 / math.sqrt(10) + 0) / 4)


def test_embedding_cosine_checks_the_encoder_shape():
    with pytest.raises(ValueError, match="one row per text"):
        embedding_cosine(["a"], ["b"], lambda texts: np.zeros(3))


@needs_sacrebleu
def test_user_likeness_bundles_every_measure():
    result = user_likeness(["the cat sat on the mat"], ["the cat sat on a mat"], "en", toy_encoder)
    assert result["pairs"] == 1
    assert result["bleu4"] == pytest.approx(100 * (1 / 12) ** 0.25)
    assert result["rouge2"] == pytest.approx(0.6)
    assert 0.9 < result["embedding_cosine"] <= 1.0
    assert user_likeness(["a"], ["a"], "en")["embedding_cosine"] is None


# -- replay ---------------------------------------------------------------------------------


def _scenario(trigger="Hi, I saw your listing."):
    return Scenario(
        language="en",
        difficulty="medium",
        buy_propensity=0.5,
        customer_prompt="You are a buyer.",
        salesperson_prompt="You are a seller.",
        trigger=trigger,
    )


class EchoCustomer(CustomerLM):
    """Answers with the length of the history; records calls."""

    def __init__(self):
        self.calls = []
        self.released = []

    def respond(self, requests):
        self.calls.append([(r.conversation_id, len(r.turns)) for r in requests])
        for r in requests:
            assert r.turns[-1].role == "salesperson"
        return [CustomerReply(f"turn {len(r.turns)}", flags={"x": 1}) for r in requests]

    def release(self, conversation_id):
        self.released.append(conversation_id)


def _case(name, roles):
    turns = tuple(Turn(role, f"{name}{i}") for i, role in enumerate(roles))
    return ReplayCase(name, _scenario(turns[0].text), turns)


def test_replay_generates_each_customer_turn_from_the_real_history():
    c, s = "customer", "salesperson"
    cases = [_case("a", [c, s, c, s, c]), _case("b", [c, s, c]), _case("z", [c, c, s])]
    assert cases[0].points == (2, 4) and cases[1].points == (2,) and cases[2].points == ()
    customer = EchoCustomer()
    seen = []
    results = replay(customer, cases, batch_size=2, on_batch=seen.append)
    # Turn-major order across conversations, two requests per call.
    assert customer.calls == [[("a", 2), ("b", 2)], [("a", 4)]]
    assert seen == [2, 1]
    assert [(t.index, t.reference, t.generated) for t in results[0]] == [
        (2, "a2", "turn 2"),
        (4, "a4", "turn 4"),
    ]
    assert results[1][0].flags == {"x": 1} and results[2] == []
    assert sorted(customer.released) == ["a", "b", "z"]
    with pytest.raises(ValueError, match="batch_size"):
        replay(customer, cases, batch_size=0)
    with pytest.raises(ValueError, match="start with the customer"):
        ReplayCase("bad", _scenario(), (Turn("salesperson", "hi"),))


class FirstDraftInverts(ChatBackend):
    """A chat model whose first draft of every reply acts as the seller."""

    name = "first-draft-inverts"

    def __init__(self):
        super().__init__(SamplingConfig(max_regenerations=1))
        self.drafted: set[str] = set()

    def generate(self, conversations, seeds):
        out = []
        for messages in conversations:
            key = json.dumps(messages)
            out.append(PLAIN if key in self.drafted else INVERTED)
            self.drafted.add(key)
        return out


def test_raw_and_residual_rates_differ_when_the_guard_regenerates():
    c, s = "customer", "salesperson"
    cases = [_case("a", [c, s, c, s, c]), _case("b", [c, s, c])]
    results = replay(FirstDraftInverts(), cases)
    raw = raw_inversion([[t.flags for t in turns] for turns in results])
    residual = residual_inversion([[t.generated for t in turns] for turns in results])
    assert raw.per_turn == 1.0 and raw.per_dialogue == 1.0 and raw.per_generation == 0.5
    assert residual.per_turn == 0.0 and residual.per_dialogue == 0.0


# -- the CraigslistBargain benchmark script --------------------------------------------------


def _run_script(*args, timeout=300):
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--no-progress", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def test_script_reports_a_missing_data_file(tmp_path):
    missing = tmp_path / "nope.jsonl"
    result = _run_script("--data", str(missing), "--limit", "1")
    assert result.returncode == 2
    assert "CraigslistBargain dialogues not found" in result.stderr
    assert "--data" in result.stderr


def test_script_rejects_a_file_that_is_not_cb(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"split_in_source": "test"}\n')
    result = _run_script("--data", str(bad))
    assert result.returncode == 2 and "not a CraigslistBargain dialogue record" in result.stderr


EXPECTED_KEYS = {
    "dataset",
    "split",
    "backend",
    "dialogues",
    "customer_turns",
    "role_inversion",
    "human_buyers",
    "bleu4",
    "bleu_signature",
    "rouge1",
    "rouge2",
    "rougeL",
    "embedding_cosine",
    "seconds",
}


@needs_cb
@needs_sacrebleu
def test_script_runs_end_to_end_with_the_persona_customer(tmp_path):
    out = tmp_path / "sub" / "fidelity.json"
    result = _run_script("--backend", "persona", "--limit", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "| persona | 3 |" in result.stdout and "| human buyers | 3 |" in result.stdout
    data = json.loads(out.read_text())
    assert data.keys() >= EXPECTED_KEYS
    assert data["dialogues"] == 3 and data["split"] == "test"
    assert data["customer_turns"] == data["pairs"] >= 3
    for kind in ("raw", "residual"):
        rates = data["role_inversion"][kind]
        assert {"per_turn", "per_dialogue"} <= rates.keys()
        assert rates["turns"] == data["customer_turns"] and rates["dialogues"] == 3
    assert data["human_buyers"]["role_inversion"]["turns"] == data["customer_turns"]
    assert 0 <= data["bleu4"] <= 100 and 0 <= data["rouge1"] <= 1
    assert data["embedding_cosine"] is None
    assert [p.name for p in out.parent.iterdir()] == ["fidelity.json"]  # no temp file left


@pytest.mark.llm
@needs_cb
@needs_sacrebleu
def test_script_on_the_tiny_model_with_an_encoder(tmp_path):
    pytest.importorskip("transformers")
    from salesenv.customers.tiny_model import tiny_model_dir

    tiny = str(tiny_model_dir())
    out = tmp_path / "fidelity.json"
    result = _run_script(
        "--backend",
        "transformers",
        "--model",
        tiny,
        "--encoder",
        tiny,
        "--limit",
        "1",
        "--max-new-tokens",
        "16",
        "--out",
        str(out),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["backend"]["backend"] == "transformers" and data["dialogues"] == 1
    assert -1.0 <= data["embedding_cosine"] <= 1.0
    raw, residual = data["role_inversion"]["raw"], data["role_inversion"]["residual"]
    assert raw["generations"] >= raw["turns"] == residual["turns"] == data["customer_turns"]


def test_replay_names_stay_importable_from_fidelity():
    from salesenv.customers import fidelity

    assert (fidelity.ReplayCase, fidelity.ReplayTurn, fidelity.replay) == (
        ReplayCase,
        ReplayTurn,
        replay,
    )
