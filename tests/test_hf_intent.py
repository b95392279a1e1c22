"""The hf intent scorer on a tiny randomly initialised classifier saved by the test."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from salesenv.dialogue import Dialogue, Turn  # noqa: E402
from salesenv.rewards import EpisodeScorer  # noqa: E402
from salesenv.rewards.hf_intent import HFIntentScorer  # noqa: E402
from salesenv.rewards.transcript import flatten  # noqa: E402
from salesenv.scenarios import ScenarioSampler  # noqa: E402

ORDER = ["F", "X", "C", "B", "A"]  # class index -> level, deliberately not A..F


def _save_classifier(path, id2label=None, num_labels=5, favour=None):
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    words = "customer salesperson hello price fee warranty yes no buy thanks what how is the it a".split()
    chars = list("客户销售你好价格多少钱买吗不要谢谢的是了我")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ":", "：", ".", "?", *words, *chars]
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)})
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=256,
        num_labels=num_labels,
        **(
            {
                "id2label": dict(enumerate(id2label)),
                "label2id": {v: i for i, v in enumerate(id2label)},
            }
            if id2label
            else {}
        ),
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    if favour is not None:
        with torch.no_grad():
            model.classifier.bias.zero_()
            model.classifier.bias[favour] = 100.0
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _dialogue(language, lines):
    scenario = ScenarioSampler(language, "medium").sample(np.random.default_rng(0))
    turns = [Turn("customer", scenario.trigger)]
    turns += [
        Turn("salesperson" if i % 2 == 0 else "customer", line) for i, line in enumerate(lines)
    ]
    return Dialogue(scenario, tuple(turns))


def test_levels_come_from_the_checkpoint_labels(tmp_path):
    path = _save_classifier(tmp_path / "m", id2label=ORDER, favour=ORDER.index("B"))
    scorer = HFIntentScorer(str(path))
    results = scorer.score_batch(
        [_dialogue("en", ["hello", "what is the price?"]), _dialogue("zh", ["你好", "多少钱"])]
    )
    assert [(r.level, r.score) for r in results] == [("B", 8.0), ("B", 8.0)]
    (score,) = EpisodeScorer(intent=scorer).score_batch([_dialogue("en", ["hello"])])
    assert score.intent == 8.0 and score.intent_scorer == "hf-v1"


def test_only_the_last_tokens_count(tmp_path):
    path = _save_classifier(tmp_path / "m", id2label=ORDER)
    scorer = HFIntentScorer(str(path), max_tokens=32)
    tail = ["what is the price?", "the fee is it", "yes buy it thanks"]
    a = _dialogue("en", ["hello " * 50, *tail])
    b = _dialogue("en", ["no no warranty " * 40, *tail])
    tokenizer, _, _ = scorer._models["en"]
    encoded = tokenizer([flatten(a)], truncation=True, max_length=32)
    assert len(encoded["input_ids"][0]) == 32
    assert tokenizer.decode(encoded["input_ids"][0], skip_special_tokens=True).endswith(
        "yes buy it thanks"
    )
    assert scorer.score_batch([a]) == scorer.score_batch([b])


def test_unnamed_classes_use_the_labels_argument(tmp_path):
    path = _save_classifier(tmp_path / "m", favour=0)  # LABEL_0..LABEL_4
    assert HFIntentScorer(str(path)).score_batch([_dialogue("en", ["hi"])])[0].level == "A"
    three = _save_classifier(tmp_path / "three", num_labels=3)
    with pytest.raises(ValueError, match="3 classes"):
        HFIntentScorer(str(three))
    assert (
        HFIntentScorer(str(three), labels=["A", "C", "F"])
        .score_batch([_dialogue("en", ["hi"])])[0]
        .level
        in "ACF"
    )


def test_per_language_checkpoints(tmp_path):
    zh = _save_classifier(tmp_path / "zh", id2label=ORDER, favour=ORDER.index("A"))
    en = _save_classifier(tmp_path / "en", id2label=ORDER, favour=ORDER.index("F"))
    scorer = HFIntentScorer({"zh": str(zh), "en": str(en)})
    results = scorer.score_batch([_dialogue("zh", ["你好"]), _dialogue("en", ["hello"])])
    assert [r.level for r in results] == ["A", "F"]
    with pytest.raises(ValueError, match="no intent checkpoint"):
        HFIntentScorer({"en": str(en)}).score_batch([_dialogue("zh", ["你好"])])
