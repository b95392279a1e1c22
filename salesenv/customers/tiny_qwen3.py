"""A tiny random Qwen3 chat model, built locally: a stand-in for `MultiSense/CustomerLM`.

The released customer model is a Qwen3 causal LM. This one has the same architecture
(`Qwen3ForCausalLM`), the same chat markup (`<|im_start|>role ... <|im_end|>`) and the same
thinking switch (`enable_thinking`), but random weights, a few layers of width 64 and a
byte-level BPE vocabulary trained on salesenv's own seed data (zh and en). It says nothing
sensible: it exercises the code paths (loading by path, the chat template and its switch,
batching, seeding) on machines without a model hub or a GPU, in seconds. Nothing is
downloaded. `python -m salesenv.customers.tiny_qwen3` builds it and prints its folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from salesenv.customers.tiny_model import cache_dir

#: The cache folder's name; bump it when the builder changes what it writes.
TINY_QWEN3_NAME = "tiny-qwen3-v1"

#: A chat template written from Qwen3's documented behaviour: ChatML turns; earlier
#: assistant turns lose their reasoning; the generation prompt opens the assistant turn,
#: and with `enable_thinking=False` it also holds an empty think block, so the model
#: answers directly. Left undefined, the model may think (Qwen3's default).
QWEN3_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- set content = message['content'] if message['content'] is string else '' -%}"
    "{%- if message['role'] == 'assistant' and '</think>' in content -%}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') -%}"
    "{%- endif -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + content + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{- '<think>\\n\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{%- endif -%}"
)

_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
#: Added tokens that decoding keeps (as in Qwen3), so a reply shows its reasoning markup.
_THINK = ("<think>", "</think>")


def tiny_qwen3_dir() -> Path:
    """The tiny Qwen3 model's folder (`cache_dir()/tiny-qwen3-v1`), built on first use.

    Returns:
        A folder that `transformers.AutoModelForCausalLM`, `AutoTokenizer` and `vllm.LLM`
        load: config, safetensors weights, tokenizer with the chat template.
    """
    target = cache_dir() / TINY_QWEN3_NAME
    if (target / "config.json").is_file() and (target / "tokenizer_config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tiny-qwen3-"))
    try:
        build_tiny_qwen3(staging)
        if target.exists():
            shutil.rmtree(target)
        try:
            os.replace(staging, target)
        except OSError:
            # Another process finished first; its copy is as good as ours.
            if not (target / "tokenizer_config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_tiny_qwen3(folder: str | os.PathLike[str], seed: int = 0) -> Path:
    """Writes a tiny random Qwen3 chat model into `folder` (created if missing).

    Args:
        folder: Where to save it.
        seed: Seeds the random weights (torch's global generator is left as it was).

    Returns:
        The folder.
    """
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    folder = Path(folder)
    tokenizer = _tokenizer()
    pad, eos = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>"])
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=pad,
        eos_token_id=eos,
        pad_token_id=pad,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen3ForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=pad, eos_token_id=[eos, pad], pad_token_id=pad
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _tokenizer():
    """A byte-level BPE tokenizer (any text encodes) with Qwen3's special tokens and template."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=4096,
        special_tokens=list(_SPECIAL),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_corpus(), trainer)
    bpe.add_tokens([AddedToken(t, special=False, normalized=False) for t in _THINK])
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=QWEN3_CHAT_TEMPLATE,
        model_max_length=4096,
    )


def _corpus() -> list[str]:
    """salesenv's seed data and a few rendered scripts per language, so that the prompts
    the tests send take few tokens."""
    from salesenv.scenarios import ScenarioSampler

    data = Path(__file__).resolve().parents[1] / "scenarios" / "data"
    texts = [p.read_text(encoding="utf-8") for p in sorted(data.glob("*.yaml"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted(data.glob("categories/*.yaml"))]
    rng = np.random.default_rng(0)
    for language in ("en", "zh"):
        for difficulty in ("easy", "medium", "hard"):
            for _ in range(4):
                scenario = ScenarioSampler(language, difficulty).sample(rng)
                texts += [scenario.customer_prompt, scenario.salesperson_prompt, scenario.trigger]
    return texts


if __name__ == "__main__":
    print(tiny_qwen3_dir())
