"""GRPO rollouts with a Qwen3-family policy: think blocks, `enable_thinking`, bad templates.

The policy's tokenizer is the tiny random Qwen3's (`salesenv.customers.tiny_qwen3`) with
`QWEN3_LIKE_TEMPLATE`, a template written here from Qwen3's documented behaviour: an
assistant turn after the last user message is rendered with a think block (empty when it
had no reasoning), earlier assistant turns lose their reasoning, and with
`enable_thinking=False` the generation prompt ends with an empty think block. The policy
is either a scripted `GenerateFn` that thinks like Qwen3 (a `<think>` block before each
answer unless the prompt closed one) or the tiny random Qwen3 model itself.
"""

from __future__ import annotations

import re
import shutil

import pytest

from salesenv.customers.thinking import THINK_CLOSE, THINK_OPEN
from salesenv.training import (
    ChatBridge,
    EnvPool,
    SalesRollout,
    episode_rows,
    hf_generate,
    load_policy,
    play_episodes,
)

pytest.importorskip("transformers")

ENV_ID = "SalesLLM-en-easy"
LINES = [
    "Hello! What matters most to you when you choose?",
    "It comes with a clear warranty and free returns within 30 days.",
    "Shall we set up a trial this week? I can send the order link today.",
]
EMPTY_THINK = "<think>\n\n</think>\n\n"

QWEN3_LIKE_TEMPLATE = (
    "{%- set ns = namespace(last_user=-1) -%}"
    "{%- for m in messages -%}"
    "{%- if m['role'] == 'user' -%}{%- set ns.last_user = loop.index0 -%}{%- endif -%}"
    "{%- endfor -%}"
    "{%- for m in messages -%}"
    "{%- if m['role'] == 'assistant' -%}"
    "{%- set answer = m['content'] -%}"
    "{%- set reasoning = '' -%}"
    "{%- if '</think>' in answer -%}"
    "{%- set reasoning = answer.split('</think>')[0].split('<think>')[-1].strip('\\n') -%}"
    "{%- set answer = answer.split('</think>')[-1].lstrip('\\n') -%}"
    "{%- endif -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if loop.index0 > ns.last_user and (loop.last or reasoning) -%}"
    "{{- '<think>\\n' + reasoning + '\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{{- answer + '<|im_end|>\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{- '<think>\\n\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{%- endif -%}"
)
#: Mistral-style: the system prompt travels with the last user message.
SYSTEM_LAST_TEMPLATE = (
    "{%- set system = messages[0]['content'] -%}"
    "{%- set ns = namespace(last_user=-1) -%}"
    "{%- for m in messages -%}"
    "{%- if m['role'] == 'user' -%}{%- set ns.last_user = loop.index0 -%}{%- endif -%}"
    "{%- endfor -%}"
    "{%- for m in messages[1:] -%}"
    "{%- if m['role'] == 'user' -%}"
    "{{- '[INST] ' + (system + '\\n\\n' if loop.index0 + 1 == ns.last_user else '') -}}"
    "{{- m['content'] + ' [/INST]' -}}"
    "{%- else -%}{{- m['content'] + '<|im_end|>' -}}{%- endif -%}"
    "{%- endfor -%}"
)
NO_SYSTEM_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' -%}"
    "{{- raise_exception('System role not supported') -}}{%- endif -%}"
)
CONTENT_DROPPING_TEMPLATE = (
    "{%- for m in messages -%}{{- '<|im_start|>' + m['role'] + '\\n<|im_end|>\\n' -}}{%- endfor -%}"
)
THINK_BLOCK = re.compile(r"<think>.*?</think>\n\n", re.S)


@pytest.fixture(scope="module")
def qwen3_dir():
    from salesenv.customers.tiny_qwen3 import tiny_qwen3_dir

    return tiny_qwen3_dir()


def qwen3_tokenizer(folder, template=QWEN3_LIKE_TEMPLATE):
    """The tiny Qwen3 tokenizer with `template`, padding on the left (as `load_policy`)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = template
    tokenizer.padding_side = "left"
    return tokenizer


@pytest.fixture(scope="module")
def tok(qwen3_dir):
    return qwen3_tokenizer(qwen3_dir)


def kwargs_for(thinking: bool) -> dict:
    return {"enable_thinking": thinking}


def reasoning(turn: int) -> str:
    return f"The customer spoke; for turn {turn} I ask what matters, then answer briefly."


def thinking_policy(tok, records):
    """Qwen3-like: thinks before answering unless the prompt ends with a closed think block.

    Says LINES in turn (by the assistant turns in the prompt), then EOS; cut to the limit.
    Records (prompt ids, generated ids, limit) per generated turn.
    """

    def generate(prompts, max_new_tokens):
        out = []
        for prompt in prompts:
            text = tok.decode(prompt)
            turn = text.count("<|im_start|>assistant") - 1
            answer = LINES[turn % len(LINES)]
            if not text.endswith(THINK_CLOSE + "\n\n"):
                answer = f"{THINK_OPEN}\n{reasoning(turn)}\n{THINK_CLOSE}\n\n{answer}"
            ids = [*tok.encode(answer, add_special_tokens=False), tok.eos_token_id]
            out.append(ids[:max_new_tokens])
            records.append((list(prompt), out[-1], max_new_tokens))
        return out, None

    return generate


def recording(generate, records):
    """Wraps a `GenerateFn` to record (prompt ids, generated ids, limit) per turn."""

    def wrapped(prompts, max_new_tokens):
        ids, logprobs = generate(prompts, max_new_tokens)
        records.extend(
            (list(p), list(i), max_new_tokens) for p, i in zip(prompts, ids, strict=True)
        )
        return ids, logprobs

    return wrapped


def play(tok, generate, thinking, rows=2, max_rounds=3, max_turn_tokens=200, budget=2000):
    specs = [(ENV_ID, seed) for seed in range(20, 20 + rows)]
    env_kwargs = {"max_rounds": max_rounds}
    return play_episodes(
        specs,
        generate,
        tok,
        envs=EnvPool(env_kwargs=env_kwargs).envs(specs),
        max_turn_tokens=max_turn_tokens,
        episode_token_budget=budget,
        chat_template_kwargs=kwargs_for(thinking),
    )


def assert_mask_is_exactly_the_generated_tokens(episode, records):
    """Each turn was generated from prompt + completion so far (the training sequence is
    what the policy saw) and its tokens are the completion's only env_mask-1 tokens."""
    sequence = episode.prompt_ids + episode.completion_ids
    turns = [(p, ids) for p, ids, _ in records if sequence[: len(p)] == p]
    assert len(turns) == episode.turns
    expected = [0] * len(episode.completion_ids)
    for prompt, ids in turns:
        start = len(prompt) - len(episode.prompt_ids)
        assert start >= 0 and episode.completion_ids[start : start + len(ids)] == ids
        expected[start : start + len(ids)] = [1] * len(ids)
    assert episode.env_mask == expected
    return turns


def test_the_template_behaves_like_qwen3(tok):
    head = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    turn = [*head, {"role": "assistant", "content": "<think>\nwhy\n</think>\n\nA"}]
    last = tok.apply_chat_template(turn, tokenize=False)
    followed = tok.apply_chat_template([*turn, {"role": "user", "content": "B"}], tokenize=False)
    assert last.endswith("<|im_start|>assistant\n<think>\nwhy\n</think>\n\nA<|im_end|>\n")
    assert "<think>" not in followed and "<|im_start|>assistant\nA<|im_end|>\n" in followed
    plain = [*head, {"role": "assistant", "content": "A"}]
    assert EMPTY_THINK + "A<|im_end|>" in tok.apply_chat_template(plain, tokenize=False)
    off = tok.apply_chat_template(
        head, tokenize=False, add_generation_prompt=True, **kwargs_for(False)
    )
    on = tok.apply_chat_template(head, tokenize=False, add_generation_prompt=True)
    assert off == on + EMPTY_THINK and on.endswith("<|im_start|>assistant\n")
    assert not followed.startswith(last)  # why a prefix-based bridge cannot read it


@pytest.mark.parametrize("thinking", [True, False])
def test_chat_bridge_reads_the_pieces_after_a_turn_that_a_user_message_follows(tok, thinking):
    bridge = ChatBridge.from_tokenizer(tok, kwargs_for(thinking))
    generation_prompt = "<|im_start|>assistant\n" + ("" if thinking else EMPTY_THINK)
    assert (bridge.close, bridge.user_prefix) == ("<|im_end|>\n", "<|im_start|>user\n")
    assert bridge.user_suffix == "<|im_end|>\n" + generation_prompt
    assert bridge.customer_text("hi", turn_ended=True) == (
        "\n<|im_start|>user\nhi<|im_end|>\n" + generation_prompt
    )


@pytest.mark.parametrize("thinking", [True, False])
def test_thinking_rollouts_train_on_what_the_policy_saw(tok, thinking):
    records = []
    episodes = play(tok, thinking_policy(tok, records), thinking)
    for episode in episodes:
        turns = assert_mask_is_exactly_the_generated_tokens(episode, records)
        assert episode.turns == 3 and episode.score is not None
        # The customer heard only the answers: the env stripped the reasoning.
        said = [m["content"] for m in episode.messages if m["role"] == "assistant"]
        assert said == LINES
        assert not any(
            THINK_OPEN in m["content"] or "</think" in m["content"] for m in episode.messages
        )
        # Earlier turns keep their reasoning in the context of later ones.
        text = tok.decode(episode.prompt_ids + episode.completion_ids)
        contexts = [tok.decode(prompt) for prompt, _ in turns]
        generated = "".join(tok.decode(ids) for _, ids in turns)
        if thinking:
            assert all(reasoning(k) in text for k in range(3))
            assert reasoning(0) in contexts[2] and reasoning(1) in contexts[2]
            assert generated.count(THINK_OPEN) == 3
        else:
            assert not any(reasoning(k) in text for k in range(3))
            assert THINK_OPEN not in generated  # the empty blocks are the prompt's (mask 0)
            assert all(c.endswith(EMPTY_THINK) for c in contexts)
        assert text.count(THINK_OPEN) == 3
        # The template renders the final conversation without those think blocks: with
        # every block removed from both, the rollout is the rendering (up to the newline
        # after the last turn, which nothing follows).
        rendered = tok.apply_chat_template(
            episode.messages[:-1], tokenize=False, **kwargs_for(thinking)
        )
        assert rendered.count(THINK_OPEN) == 1  # only the last turn's (empty) block
        assert THINK_BLOCK.sub("", text) == THINK_BLOCK.sub("", rendered).removesuffix("\n")


@pytest.mark.parametrize("thinking", [True, False])
def test_turn_limit_and_episode_budget_hold_while_thinking(tok, thinking):
    records = []
    max_turn, budget = 12, 30
    episodes = play(
        tok,
        thinking_policy(tok, records),
        thinking,
        max_rounds=10,
        max_turn_tokens=max_turn,
        budget=budget,
    )
    assert records and all(limit <= max_turn for _, _, limit in records)
    for episode in episodes:
        assert_mask_is_exactly_the_generated_tokens(episode, records)
        assert sum(episode.env_mask) <= budget
        runs = "".join(map(str, episode.env_mask)).split("0")
        assert max(len(r) for r in runs) <= max_turn
        assert episode.turns <= 3 and episode.score is not None
        said = [m["content"] for m in episode.messages if m["role"] == "assistant"]
        assert not any(THINK_OPEN in s or "</think" in s for s in said)
        if thinking:
            # Every turn was cut off while thinking: nothing was said.
            assert said == [""] * episode.turns
        else:
            assert all(s and LINES[k].startswith(s) for k, s in enumerate(said))


@pytest.mark.parametrize("thinking", [True, False])
def test_sales_rollout_renders_the_prompt_with_the_template_kwargs(tok, thinking):
    rows = episode_rows(ENV_ID, 2, first_seed=30, env_kwargs={"max_rounds": 2})
    records = []
    rollout = SalesRollout(
        rows,
        env_kwargs={"max_rounds": 2},
        max_turn_tokens=200,
        episode_token_budget=2000,
        generate=thinking_policy(tok, records),
        tokenizer=tok,
        chat_template_kwargs=kwargs_for(thinking),
    )
    out = rollout([r["prompt"] for r in rows])
    for row, prompt_ids, ids, mask in zip(
        rows, out["prompt_ids"], out["completion_ids"], out["env_mask"], strict=True
    ):
        expected = tok.apply_chat_template(
            row["prompt"], tokenize=False, add_generation_prompt=True, **kwargs_for(thinking)
        )
        assert tok.decode(prompt_ids) == expected
        policy = tok.decode([t for t, m in zip(ids, mask, strict=True) if m])
        assert (policy.count(THINK_OPEN) == 2) is thinking


class _Trainer:
    """What `SalesRollout` reads from a TRL trainer when given a policy and a tokenizer."""

    use_vllm = False

    def __init__(self, tokenizer, chat_template_kwargs):
        self.processing_class = tokenizer
        self.chat_template_kwargs = chat_template_kwargs


def test_sales_rollout_takes_the_trainers_template_kwargs_by_default(tok):
    rows = episode_rows(ENV_ID, 1, first_seed=30, env_kwargs={"max_rounds": 1})
    rollout = SalesRollout(
        rows, env_kwargs={"max_rounds": 1}, generate=thinking_policy(tok, []), tokenizer=None
    )
    out = rollout([rows[0]["prompt"]], _Trainer(tok, kwargs_for(False)))
    assert tok.decode(out["prompt_ids"][0]).endswith(EMPTY_THINK)
    explicit = SalesRollout(
        rows,
        env_kwargs={"max_rounds": 1},
        generate=thinking_policy(tok, []),
        tokenizer=tok,
        chat_template_kwargs=kwargs_for(True),
    )
    out = explicit([rows[0]["prompt"]], _Trainer(tok, kwargs_for(False)))
    assert tok.decode(out["prompt_ids"][0]).endswith("<|im_start|>assistant\n")


@pytest.mark.llm
@pytest.mark.slow
@pytest.mark.parametrize("thinking", [True, False])
def test_the_random_qwen3_policy_plays_rollouts(qwen3_dir, thinking):
    import torch

    model, tokenizer = load_policy(str(qwen3_dir))
    tokenizer.chat_template = QWEN3_LIKE_TEMPLATE
    torch.manual_seed(0)
    records = []
    generate = recording(hf_generate(model, tokenizer), records)
    max_turn, budget = 16, 40
    episodes = play(
        tokenizer, generate, thinking, max_rounds=4, max_turn_tokens=max_turn, budget=budget
    )
    assert all(limit <= max_turn for _, _, limit in records)
    for episode in episodes:
        turns = assert_mask_is_exactly_the_generated_tokens(episode, records)
        assert all(0 < len(ids) <= max_turn for _, ids in turns)
        assert sum(episode.env_mask) <= budget and episode.score is not None
        prompt = tokenizer.decode(episode.prompt_ids)
        assert prompt.endswith(EMPTY_THINK) is not thinking
        said = [m["content"] for m in episode.messages if m["role"] == "assistant"]
        assert len(said) == episode.turns
        assert not any(THINK_OPEN in s or THINK_CLOSE in s for s in said)


# Bad input: templates that multi-turn rollouts cannot use.


def _without_chat_template(folder, tmp_path):
    import json

    copy = tmp_path / "no-template"
    shutil.copytree(folder, copy)
    (copy / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((copy / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (copy / "tokenizer_config.json").write_text(json.dumps(config))
    return copy


def test_a_policy_without_a_chat_template_is_refused_with_what_to_do(qwen3_dir, tmp_path):
    folder = _without_chat_template(qwen3_dir, tmp_path)
    message = r"no chat template.*train\.policy_model.*instruct/chat model.*chat_template"
    with pytest.raises(ValueError, match=message) as error:
        load_policy(str(folder))
    assert str(folder) in str(error.value)
    from transformers import AutoTokenizer

    bare = AutoTokenizer.from_pretrained(folder)
    assert not bare.chat_template
    rows = episode_rows(ENV_ID, 1, first_seed=30)
    with pytest.raises(ValueError, match=message):
        SalesRollout(rows, generate=thinking_policy(bare, []), tokenizer=bare)
    lazy = SalesRollout(rows, generate=thinking_policy(bare, []))
    with pytest.raises(ValueError, match=message):
        lazy([rows[0]["prompt"]], _Trainer(bare, None))
    with pytest.raises(ValueError, match=message):
        play_episodes(
            [(ENV_ID, 30)],
            thinking_policy(bare, []),
            bare,
            envs=EnvPool().envs([(ENV_ID, 30)]),
            max_turn_tokens=8,
            episode_token_budget=8,
        )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (SYSTEM_LAST_TEMPLATE, r"differently once more turns follow"),
        (NO_SYSTEM_TEMPLATE, r"fails on.*System role not supported"),
        (CONTENT_DROPPING_TEMPLATE, r"does not render message contents verbatim"),
    ],
)
def test_unusable_templates_are_refused_with_what_to_do(qwen3_dir, template, message):
    tokenizer = qwen3_tokenizer(qwen3_dir, template)
    with pytest.raises(ValueError, match=message) as error:
        ChatBridge.from_tokenizer(tokenizer)
    assert "train.policy_model" in str(error.value)
    assert "train.chat_template_kwargs" in str(error.value)
