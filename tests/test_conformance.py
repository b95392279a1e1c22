"""Our hf scoring and blend under `flattening="official"` equal the public SalesLLM scoring
rules on fixed dialogues.

The rules, as the public scoring script states them (written here from their description,
not from its code):

1. Flattening: every message from the customer's opening on, in order; each is its role
   tag followed at once by its text, "[ASSISTANT]" for the salesperson, "[USER]" for the
   customer; nothing between messages (no space, no newline, no colon).
2. Truncation: tokenize the whole text, keep its last N tokens (N = 128 in the paper's
   runs, never more than 510), then put [CLS] before and [SEP] after; the script pads to
   512 ids with an attention mask.
3. Labels: the class with the highest logit, named by the checkpoint's id2label; a
   checkpoint that does not name its classes is read in the order A, B, C, F, X. Points:
   A 10, B 8, C 6, X 4, F 2.
4. Blend: final = alpha * intent points + (1 - alpha) * judge score, alpha = 0.6.

Expected values are hand-written or computed here from those rules with the tokenizer's
own primitives (tokenize, convert_tokens_to_ids), never through the scorer's code path.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from salesenv.dialogue import Dialogue, Turn  # noqa: E402
from salesenv.rewards import EpisodeScorer  # noqa: E402
from salesenv.rewards.blend import get_profile  # noqa: E402
from salesenv.rewards.hf_intent import HFIntentScorer  # noqa: E402
from salesenv.rewards.judge import JudgeResult  # noqa: E402
from salesenv.rewards.tiny_intent import save_tiny_intent_repo  # noqa: E402
from salesenv.rewards.transcript import flatten, flatten_official  # noqa: E402
from salesenv.scenarios import ScenarioSampler  # noqa: E402
from tests.test_hf_intent import _save_classifier  # noqa: E402

#: Rule 3, as the script's table gives it.
POINTS = {"A": 10, "B": 8, "C": 6, "X": 4, "F": 2}
#: Rule 3: the class order of a checkpoint without level names.
UNNAMED_ORDER = ["A", "B", "C", "F", "X"]
ALPHA = 0.6
N = 128


def _dialogue(language: str, *texts: str) -> Dialogue:
    """A dialogue whose turns alternate customer, salesperson, customer, ... from `texts`."""
    scenario = ScenarioSampler(language, "medium").sample(np.random.default_rng(0))
    roles = ["customer", "salesperson"]
    return Dialogue(scenario, tuple(Turn(roles[i % 2], t) for i, t in enumerate(texts)))


EN = _dialogue("en", "Hi, any deals?", "Yes: 10% off this week.", "OK, I want it.")
ZH = _dialogue("zh", "你好，这个产品多少钱？", "您好，价格是99元。", "好的，我买了。")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return save_tiny_intent_repo(tmp_path_factory.mktemp("SaleIntent_bert"))


@pytest.fixture(scope="module")
def official(repo):
    return HFIntentScorer(str(repo), max_tokens=N, flattening="official")


def _rule_ids(tokenizer, text: str, n: int = N) -> list[int]:
    """Rule 2 from the tokenizer's primitives: last n text tokens, [CLS] ... [SEP]."""
    tokens = tokenizer.tokenize(text)[-min(n, 510) :]
    return [
        tokenizer.cls_token_id,
        *tokenizer.convert_tokens_to_ids(tokens),
        tokenizer.sep_token_id,
    ]


def test_flattening_is_tags_glued_to_text_with_no_separators(official):
    assert flatten_official(EN) == (
        "[USER]Hi, any deals?[ASSISTANT]Yes: 10% off this week.[USER]OK, I want it."
    )
    assert flatten_official(ZH) == (
        "[USER]你好，这个产品多少钱？[ASSISTANT]您好，价格是99元。[USER]好的，我买了。"
    )
    assert official.texts([EN, ZH]) == [flatten_official(EN), flatten_official(ZH)]
    # Our default flattening is a different text (lines with localised tags).
    assert flatten(EN).splitlines()[0] == "Customer: Hi, any deals?"


def test_truncation_keeps_the_last_n_text_tokens_then_adds_cls_and_sep(repo):
    scorer = HFIntentScorer(str(repo), max_tokens=8, flattening="official")
    tokenizer = scorer._models["en"][0]
    dialogue = _dialogue("en", "hi", "the price is ok", "yes buy it")
    # "[USER]hi[ASSISTANT]the price is ok[USER]yes buy it": the brackets split off, so the
    # text is 17 tokens; the last 8 are "is ok [ user ] yes buy it".
    assert tokenizer.tokenize(scorer.texts([dialogue])[0]) == [
        *"[ user ] hi [ assistant ] the price is ok [ user ] yes buy it".split()
    ]
    (ids,) = scorer.token_ids([dialogue])
    assert tokenizer.convert_ids_to_tokens(ids) == [
        "[CLS]", "is", "ok", "[", "user", "]", "yes", "buy", "it", "[SEP]",
    ]  # fmt: skip
    # Chinese reads one token per character; the last 8 of "…[USER]好的，我买了。".
    (zh_ids,) = scorer.token_ids([ZH])
    assert tokenizer.convert_ids_to_tokens(zh_ids) == [
        "[CLS]", "]", "好", "的", "，", "我", "买", "了", "。", "[SEP]",
    ]  # fmt: skip


def test_long_dialogues_read_exactly_the_rule_input(official):
    long_en = _dialogue(
        "en",
        *(f"turn {i}: what is the price and the fee and the warranty?" for i in range(30)),
    )
    long_zh = _dialogue("zh", *(f"第{i}轮：这个产品多少钱？价格不要太高。" for i in range(30)))
    for dialogue in (long_en, long_zh, EN, ZH):
        tokenizer = official._models[dialogue.scenario.language][0]
        expected = _rule_ids(tokenizer, flatten_official(dialogue))
        assert official.token_ids([dialogue]) == [expected]
    assert len(official.token_ids([long_en])[0]) == N + 2
    assert len(official.token_ids([long_zh])[0]) == N + 2
    # Our default counts the special tokens inside max_tokens: 126 text tokens, not 128.
    ours = HFIntentScorer(official.sources["en"][0], max_tokens=N)
    assert len(ours.token_ids([long_en])[0]) == N


def _spread(scorer: HFIntentScorer) -> HFIntentScorer:
    """Re-draws the random weights with a wide spread (std 4/sqrt(fan-in)), so that
    different inputs get different classes (the default 0.02 gives one class for all)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for language in ("zh", "en"):
            for name, weight in scorer._models[language][1].named_parameters():
                if weight.dim() > 1 and "LayerNorm" not in name:
                    weight.normal_(0.0, 4.0 / weight.shape[-1] ** 0.5)
    return scorer


PREDICTED = [
    _dialogue("en", "hi", "the price is ok", "yes buy it"),
    _dialogue("en", "no", "what is it", "no thanks"),
    _dialogue("en", "how is the fee", *(["we want it"] * 40)),
    _dialogue("zh", "你好", "价格多少钱", "不要了，谢谢"),
    _dialogue("zh", "我要买", "好的", "谢谢您"),
]


def test_prediction_is_the_argmax_class_of_the_padded_rule_input(repo):
    scorer = _spread(HFIntentScorer(str(repo), max_tokens=N, flattening="official"))
    got = scorer.score_batch(PREDICTED)
    expected = []
    for dialogue in PREDICTED:
        tokenizer, model, _ = scorer._models[dialogue.scenario.language]
        ids = _rule_ids(tokenizer, flatten_official(dialogue))
        # The script pads every input to 512 ids; padding must not change the logits.
        padded = ids + [tokenizer.pad_token_id] * (512 - len(ids))
        mask = [1] * len(ids) + [0] * (512 - len(ids))
        with torch.inference_mode():
            logits = model(
                input_ids=torch.tensor([padded]), attention_mask=torch.tensor([mask])
            ).logits[0]
            unpadded = model(input_ids=torch.tensor([ids])).logits[0]
        assert torch.allclose(logits, unpadded, atol=1e-4)
        level = model.config.id2label[int(logits.argmax())]
        expected.append((level, POINTS[level]))
    assert [(r.level, r.score) for r in got] == expected
    assert len({level for level, _ in expected}) >= 2  # the inputs really differ
    # The same weights read our default flattening differently: the switch matters.
    ours = _spread(HFIntentScorer(str(repo), max_tokens=N)).score_batch(PREDICTED)
    assert [r.level for r in ours] != [level for level, _ in expected]


@pytest.mark.parametrize("index", range(5))
def test_label_mapping_named_and_unnamed_checkpoints(tmp_path, index):
    named = save_tiny_intent_repo(tmp_path / "named", favour={"en": UNNAMED_ORDER[index]})
    (result,) = HFIntentScorer(str(named), flattening="official").score_batch([EN])
    assert (result.level, result.score) == (UNNAMED_ORDER[index], POINTS[UNNAMED_ORDER[index]])
    # LABEL_0..LABEL_4: class index k is UNNAMED_ORDER[k] (so index 3 is F, 4 is X).
    unnamed = _save_classifier(tmp_path / "unnamed", favour=index)
    (result,) = HFIntentScorer(str(unnamed), flattening="official").score_batch([EN])
    assert (result.level, result.score) == (UNNAMED_ORDER[index], POINTS[UNNAMED_ORDER[index]])


class FixedJudge:
    """A judge that gives each dialogue a fixed 0-10 score, by position."""

    name = "fixed"
    version = "1"

    def __init__(self, scores):
        self.scores = scores

    def judge_batch(self, dialogues):
        return [JudgeResult(s) for s in self.scores[: len(dialogues)]]


def test_blend_is_alpha_intent_plus_one_minus_alpha_judge(tmp_path):
    assert get_profile("salesllm-readme").alpha == ALPHA
    repo = save_tiny_intent_repo(tmp_path / "r", favour={"zh": "A", "en": "F"})
    intent = HFIntentScorer(str(repo), max_tokens=N, flattening="official")
    scorer = EpisodeScorer(
        intent=intent, judge=FixedJudge([7, 3, 0, 10]), profile="salesllm-readme"
    )
    scores = scorer.score_batch([ZH, EN, ZH, EN])
    # Hand-computed: 0.6*10 + 0.4*7, 0.6*2 + 0.4*3, 0.6*10 + 0.4*0, 0.6*2 + 0.4*10.
    assert [round(s.final, 9) for s in scores] == [8.8, 2.4, 6.0, 5.2]
    assert [(s.intent_level, s.intent, s.judge) for s in scores] == [
        ("A", 10.0, 7.0), ("F", 2.0, 3.0), ("A", 10.0, 0.0), ("F", 2.0, 10.0),
    ]  # fmt: skip
    assert {s.intent_scorer for s in scores} == {"hf-v1-official"}
