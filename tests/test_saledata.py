"""The SaleData reader on fixtures written here in the layouts the public code uses: the
official runner's output (script keys + messages), the customer model's view (a system
message, assistant = customer), scripts alone, ShareGPT messages, parquet and JSONL."""

from __future__ import annotations

import json

import pytest

from salesenv.customers.base import CustomerLM, CustomerReply
from salesenv.customers.replay import replay
from salesenv.realdata import saledata_dialogues, saledata_replay_cases
from salesenv.scenarios.saledata import (
    SaleDataFormatError,
    SaleDataWarning,
    read_saledata,
    saledata_suite,
)
from salesenv.scenarios.suites import load_suite

ZH_CUSTOMER = (
    "- Difficulty level: hard\n- Buy-inclination score: 0.2\n- Persona: 谨慎的上班族，关心保费。\n"
    "CUSTOMER_INFORMATION (private):\nDecision factors\n保费、理赔速度\nLanguage\nChinese"
)
ZH_SELLER = (
    "你是一名专业的销售（ASSISTANT）。\nPRODUCT_INFORMATION (private to you):\n"
    "产品：安心医疗险；年保费：360元；理赔：3个工作日内到账。\nRules:\n- 请说中文。"
)
EN_CUSTOMER = (
    "- Difficulty level: easy\n- Buy-inclination score: 0.8\n- Persona: A keen runner.\n"
    "CUSTOMER_INFORMATION (private):\nDecision factors\nComfort, price under $120\n"
    "Language\nEnglish"
)
EN_SELLER = (
    "You are a professional salesperson (ASSISTANT).\nPRODUCT_INFORMATION (private to you):\n"
    "Product: TrailLite running shoes; Price: $99; Weight: 210 g.\nRules:\n"
    "- Speak strictly in English."
)


def _script(ident, language, customer, seller, zh_trigger, en_trigger):
    return {
        "id": ident,
        "language": language,
        "user_system_prompt": customer,
        "assistant_system_prompt": seller,
        "trigger_sentence_zh": zh_trigger,
        "trigger_sentence_en": en_trigger,
    }


ZH_SCRIPT = _script(
    "s1_01", "chinese", ZH_CUSTOMER, ZH_SELLER, "这个医疗险一年多少钱？", "How much?"
)
EN_SCRIPT = _script("s2_01", "english", EN_CUSTOMER, EN_SELLER, "这双鞋舒服吗？", "Are they comfy?")


def _runner_row(script, language, messages, **more):
    """The official runner's output: the script plus messages, turn_count, status."""
    return {
        **script,
        "language": language,
        "messages": messages,
        "turn_count": len(messages) - 1,
        "status": "completed",
        **more,
    }


RUNNER_ROWS = [
    _runner_row(
        ZH_SCRIPT,
        "zh",
        [
            {"role": "user", "content": "这个医疗险一年多少钱？"},
            {"role": "assistant", "content": "您好，年保费是360元。"},
            {"role": "user", "content": "理赔快吗？"},
            {"role": "assistant", "content": "3个工作日内到账。"},
            {"role": "user", "content": "好的，我考虑一下，再见。"},
        ],
        **{"A/B": "B", "conversation_quality": 6, "final_score": 7.2},
    ),
    _runner_row(
        EN_SCRIPT,
        "en",
        [
            {"role": "user", "content": "Are they comfy?"},
            {"role": "assistant", "content": "Very: memory foam, 210 g."},
            {"role": "user", "content": "Great, I'll take a pair."},
        ],
    ),
]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_runner_output_rows_give_scripts_and_dialogues(tmp_path):
    data = read_saledata(_write_jsonl(tmp_path / "gen.jsonl", RUNNER_ROWS))
    assert data.skipped == ()
    zh, en = data.records
    assert (zh.id, zh.row, zh.language, en.language) == ("s1_01", 1, "zh", "en")
    assert zh.scenario.source_id == "s1_01" and zh.scenario.difficulty == "hard"
    assert (
        zh.scenario.trigger == "这个医疗险一年多少钱？" and en.scenario.trigger == "Are they comfy?"
    )
    assert [(t.role, t.text) for t in zh.turns[:2]] == [
        ("customer", "这个医疗险一年多少钱？"),
        ("salesperson", "您好，年保费是360元。"),
    ]
    assert [t.role for t in en.turns] == ["customer", "salesperson", "customer"]
    assert zh.system_prompt is None and zh.extra["turn_count"] == 4
    assert "messages" not in zh.extra and "user_system_prompt" not in zh.extra
    suite = data.suite()
    assert suite.name == "gen" and [s.language for s in suite] == ["zh", "en"]
    assert saledata_suite(tmp_path / "gen.jsonl").content_hash == suite.content_hash


def test_dialogues_are_a_reference_and_scripted_ones_replay(tmp_path):
    path = _write_jsonl(tmp_path / "gen.jsonl", RUNNER_ROWS)
    zh, en = saledata_dialogues(path)
    assert (zh.id, zh.label, zh.split, en.label) == ("s1_01", "B", "all", None)
    assert zh.turns[-1] == ("customer", "好的，我考虑一下，再见。")
    assert zh.extra["language"] == "zh" and zh.extra["final_score"] == 7.2
    cases = saledata_replay_cases(path)
    assert [c.id for c in cases] == ["s1_01", "s2_01"]
    assert cases[0].points == (2, 4) and cases[1].points == (2,)

    class Echo(CustomerLM):
        def respond(self, requests):
            return [CustomerReply(f"{len(r.turns)}:{r.scenario.language}") for r in requests]

    generated = replay(Echo(), cases)
    assert [[(t.reference, t.generated) for t in c] for c in generated] == [
        [("理赔快吗？", "2:zh"), ("好的，我考虑一下，再见。", "4:zh")],
        [("Great, I'll take a pair.", "2:en")],
    ]


def test_customer_model_view_and_sharegpt_messages(tmp_path):
    rows = [
        {
            "id": "c1",
            "messages": [
                {"role": "system", "content": ZH_CUSTOMER},
                {"role": "assistant", "content": "你好，我想了解一下医疗险。"},
                {"role": "user", "content": "您好，年保费360元。"},
                {"role": "assistant", "content": "有点贵，不需要了。"},
            ],
        },
        {
            "conversation_id": "g1",
            "conversations": [
                {"from": "human", "value": "Do you ship abroad?"},
                {"from": "gpt", "value": "Yes, in 5 days."},
            ],
        },
    ]
    data = read_saledata(_write_jsonl(tmp_path / "view.jsonl", rows))
    view, share = data.records
    assert view.system_prompt == ZH_CUSTOMER and view.scenario is None and view.language == "zh"
    assert [(t.role, t.text[:2]) for t in view.turns] == [
        ("customer", "你好"),
        ("salesperson", "您好"),
        ("customer", "有点"),
    ]
    assert (share.id, share.language) == ("g1", "en")
    assert [t.role for t in share.turns] == ["customer", "salesperson"]
    # The same rows read as runner output when told so.
    runner = read_saledata(tmp_path / "view.jsonl", orientation="runner").records[0]
    assert [t.role for t in runner.turns] == ["salesperson", "customer", "salesperson"]
    with pytest.raises(SaleDataFormatError, match=r"holds no script .*2 usable rows"):
        data.suite()
    with pytest.warns(SaleDataWarning, match="2 dialogues without a script"):
        assert saledata_replay_cases(tmp_path / "view.jsonl") == []


def test_parquet_rows_read_like_jsonl(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{k: v for k, v in r.items() if k != "A/B"} for r in RUNNER_ROWS]
    # Messages as a list of structs, as a parquet export of the runner's output holds them.
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "salesllm_10k.parquet")
    from_parquet = read_saledata(tmp_path / "salesllm_10k.parquet")
    from_jsonl = read_saledata(_write_jsonl(tmp_path / "gen.jsonl", RUNNER_ROWS))
    assert [(r.id, r.scenario.id, r.turns) for r in from_parquet.records] == [
        (r.id, r.scenario.id, r.turns) for r in from_jsonl.records
    ]
    # load_suite (and so `salesenv eval --suite x.parquet`) reads the table's scripts.
    suite = load_suite(tmp_path / "salesllm_10k.parquet")
    assert suite.name == "salesllm_10k"
    assert [s.id for s in suite] == [r.scenario.id for r in from_jsonl.records]
    # Messages as a JSON string column, and a row with a script only (no messages).
    strings = [
        {**rows[0], "messages": json.dumps(rows[0]["messages"])},
        {**rows[1], "messages": None},
    ]
    pq.write_table(pa.Table.from_pylist(strings), tmp_path / "strings.parquet")
    records = read_saledata(tmp_path / "strings.parquet").records
    assert [len(r.turns) for r in records] == [5, 0]
    assert records[0].turns == from_jsonl.records[0].turns and records[1].scenario is not None


def test_unknown_rows_are_skipped_by_row_and_an_unknown_file_is_refused(tmp_path):
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        json.dumps(RUNNER_ROWS[1])
        + "\n{not json\n"
        + json.dumps({"id": "x9", "prompt": "hi", "response": "hello"})
        + "\n"
        + json.dumps({"id": "r2", "messages": [{"role": "narrator", "content": "…"}]})
        + "\n",
        "utf-8",
    )
    with pytest.warns(SaleDataWarning) as caught:
        data = read_saledata(mixed)
    assert [r.id for r in data.records] == ["s2_01"]
    assert data.skipped == (
        "row 2 (id row-2): not JSON (Expecting property name enclosed in double quotes at "
        "column 2)",
        "row 3 (id x9): neither a script (user_system_prompt, assistant_system_prompt) nor a "
        "dialogue (a non-empty message list under one of ['messages', 'conversation', "
        "'conversations', 'dialogue', 'dialog', 'turns']); its keys: ['id', 'prompt', "
        "'response']",
        "row 4 (id r2): messages[0] has an unknown role 'narrator'",
    )
    assert len(caught) == 3 and "mixed.jsonl row 3 (id x9)" in str(caught[1].message)
    unknown = _write_jsonl(tmp_path / "other.jsonl", [{"prompt": "a", "response": "b"}] * 2)
    with pytest.warns(SaleDataWarning), pytest.raises(SaleDataFormatError) as err:
        read_saledata(unknown)
    message = str(err.value)
    assert message.startswith(f"{unknown}: no usable row (2 skipped); its first row has the keys")
    assert "['prompt', 'response']" in message and "convert the file" in message
    with pytest.raises(FileNotFoundError, match=r"salesllm_10k\.parquet or the raw JSONL"):
        read_saledata(tmp_path / "missing.parquet")


def test_language_override_and_limit(tmp_path):
    path = _write_jsonl(tmp_path / "gen.jsonl", RUNNER_ROWS)
    (only,) = read_saledata(path, limit=1).records
    assert only.id == "s1_01"
    scripts = _write_jsonl(tmp_path / "scripts.jsonl", [EN_SCRIPT])
    assert saledata_suite(scripts)[0].language == "en"
    forced = saledata_suite(scripts, language="zh")[0]
    assert (forced.language, forced.trigger) == ("zh", "这双鞋舒服吗？")
    with pytest.raises(ValueError, match="language must be one of"):
        read_saledata(path, language="fr")
