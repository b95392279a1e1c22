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


# -- one repository, one checkpoint per language in subfolders (MultiSense/SaleIntent_bert) --


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory):
    """A stand-in of the released repository: zh/ always says A, en/ always says F."""
    from salesenv.rewards.tiny_intent import save_tiny_intent_repo

    return save_tiny_intent_repo(
        tmp_path_factory.mktemp("SaleIntent_bert"), favour={"zh": "A", "en": "F"}
    )


def test_a_repository_with_language_subfolders_loads_each_language(tiny_repo):
    from transformers import AutoConfig

    assert sorted(p.name for p in tiny_repo.iterdir()) == ["en", "zh"]
    assert not (tiny_repo / "config.json").exists()
    config = AutoConfig.from_pretrained(tiny_repo, subfolder="en")
    assert [config.id2label[i] for i in range(5)] == ["A", "B", "C", "F", "X"]
    dialogues = [_dialogue("zh", ["你好", "多少钱"]), _dialogue("en", ["hello", "the price?"])]
    # The folder alone: each language's subfolder is found by its name.
    scorer = HFIntentScorer(str(tiny_repo))
    assert scorer.sources == {"zh": (str(tiny_repo), "zh"), "en": (str(tiny_repo), "en")}
    assert [(r.level, r.score) for r in scorer.score_batch(dialogues)] == [
        ("A", 10.0),
        ("F", 2.0),
    ]
    # Named subfolders: both languages read the Chinese checkpoint.
    both_zh = HFIntentScorer(str(tiny_repo), subfolders={"zh": "zh", "en": "zh"})
    assert [r.level for r in both_zh.score_batch(dialogues)] == ["A", "A"]
    assert both_zh._models["zh"] is both_zh._models["en"]  # loaded once


def test_subfolders_with_other_names_and_per_language_repositories(tmp_path):
    from salesenv.rewards.hf_intent import IntentSubfolders
    from salesenv.rewards.tiny_intent import save_tiny_intent_repo

    repo = save_tiny_intent_repo(
        tmp_path / "repo", subfolders={"zh": "chinese", "en": "english"}, favour={"zh": "B"}
    )
    scorer = HFIntentScorer(str(repo), subfolders=IntentSubfolders(zh="chinese", en="english"))
    assert scorer.score_batch([_dialogue("zh", ["你好"])])[0].level == "B"
    per_language = HFIntentScorer(
        {"zh": str(repo), "en": str(repo)}, subfolders={"zh": "chinese", "en": "chinese"}
    )
    assert per_language.score_batch([_dialogue("en", ["hi"])])[0].level == "B"


def test_a_missing_subfolder_names_the_path_its_subfolders_and_what_to_pass(tiny_repo, tmp_path):
    from salesenv.customers.model_path import ModelNotFoundError

    with pytest.raises(ModelNotFoundError) as err:
        HFIntentScorer(str(tiny_repo), subfolders={"zh": "cn"})
    message = str(err.value)
    assert message.startswith(f"hf intent scorer: cannot load model {str(tiny_repo)!r}")
    assert f"{str(tiny_repo)!r} has no subfolder 'cn'" in message
    assert "its subfolders: en, zh" in message
    assert "pass scorer.subfolders.zh=NAME" in message
    assert isinstance(err.value, FileNotFoundError)
    # A subfolder without a model, and a folder with neither a model nor language subfolders.
    (tmp_path / "repo" / "zh").mkdir(parents=True)
    with pytest.raises(ModelNotFoundError, match=r"repo/zh' has no config\.json.*subfolders: zh"):
        HFIntentScorer(str(tmp_path / "repo"), subfolders={"zh": "zh"})
    with pytest.raises(
        ModelNotFoundError, match=r"no config\.json and no subfolder 'zh' \(it has none\); pass"
    ):
        HFIntentScorer(str(tmp_path / "repo"))
    with pytest.raises(ValueError, match=r"subfolders names languages \['de'\]"):
        HFIntentScorer(str(tiny_repo), subfolders={"de": "de"})


def test_the_released_repository_id_gets_its_subfolders_without_a_download():
    from salesenv.rewards.hf_intent import RELEASED_REPO, resolve_checkpoints

    assert resolve_checkpoints(RELEASED_REPO) == {
        "zh": (RELEASED_REPO, "zh"),
        "en": (RELEASED_REPO, "en"),
    }
    assert resolve_checkpoints(RELEASED_REPO, {"zh": "chinese"})["zh"] == (RELEASED_REPO, "chinese")
    assert resolve_checkpoints("org/other") == {
        "zh": ("org/other", None),
        "en": ("org/other", None),
    }


def test_scorer_subfolders_compose_and_instantiate_from_the_command_line(tiny_repo):
    from salesenv.build import instantiate_scorer
    from tests.test_config import compose_cfg

    cfg = compose_cfg(
        [
            "scorer=hf",
            f"scorer.checkpoints={tiny_repo}",
            "scorer.subfolders.zh=en",
            "scorer.subfolders.en=en",
        ]
    )
    assert cfg.scorer.subfolders.zh == "en" and cfg.scorer.flattening == "salesenv"
    (score,) = instantiate_scorer(cfg, None).score_batch([_dialogue("zh", ["你好"])])
    assert (score.intent_level, score.intent) == ("F", 2.0)
    official = compose_cfg(
        ["scorer=hf", f"scorer.checkpoints={tiny_repo}", "scorer.flattening=official"]
    )
    (score,) = instantiate_scorer(official, None).score_batch([_dialogue("zh", ["你好"])])
    assert (score.intent_level, score.intent_scorer) == ("A", "hf-v1-official")
    # One checkpoint folder for zh, a repository subfolder for en.
    mixed = compose_cfg(
        [
            "scorer=hf",
            f"scorer.checkpoints={{zh:{tiny_repo}/en,en:{tiny_repo}}}",
            "scorer.subfolders.en=zh",
        ]
    )
    scorer = instantiate_scorer(mixed, None)
    assert scorer.intent.sources == {"zh": (f"{tiny_repo}/en", None), "en": (str(tiny_repo), "zh")}
    levels = [
        s.intent_level
        for s in scorer.score_batch([_dialogue("zh", ["你好"]), _dialogue("en", ["hi"])])
    ]
    assert levels == ["F", "A"]


def test_unknown_flattening_is_refused(tiny_repo):
    with pytest.raises(ValueError, match=r"flattening must be one of \['official', 'salesenv'\]"):
        HFIntentScorer(str(tiny_repo), flattening="paper")
