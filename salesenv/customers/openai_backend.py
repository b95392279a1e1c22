"""The customer on any OpenAI-compatible chat-completions server, requests sent concurrently.

Works with vLLM's and SGLang's servers, llama.cpp's server and hosted APIs. The base URL,
model and key come from arguments or the environment (`OPENAI_BASE_URL`,
`OPENAI_API_KEY`), never from code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import random
from collections.abc import Sequence

from salesenv.customers.base import CustomerBackendError
from salesenv.customers.chat import ChatBackend, Message, SamplingConfig


class OpenAIChat(ChatBackend):
    """A customer played by a model behind an OpenAI-compatible server.

    One `respond` call sends all conversations' requests concurrently (at most
    `max_concurrency` in flight). Timeouts, connection errors, HTTP 429 and 5xx are retried
    with exponential backoff and jitter; when the retries are spent, or on any other HTTP
    error (401, 404, 400, ...), a `CustomerBackendError` names the role the backend plays
    (`role`: customer, salesperson or grader), the server, the model and what to check.

    Args:
        model: The model name the server knows.
        base_url: Server URL ending in /v1 (default: `$OPENAI_BASE_URL`).
        api_key: Key (default: `$OPENAI_API_KEY`, else "EMPTY" for local servers).
        max_concurrency: Requests in flight at once.
        timeout: Seconds per request.
        max_retries: Retries of a failed request.
        backoff: First retry delay in seconds; doubles each retry.
        sampling: Sampling parameters and reply limits.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        max_concurrency: int = 16,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        sampling: SamplingConfig | None = None,
    ) -> None:
        super().__init__(sampling)
        try:
            import openai  # noqa: F401
        except ImportError as exc:
            raise ImportError("the openai customer needs `pip install salesenv[openai]`") from exc
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not self.base_url:
            raise ValueError(
                "OpenAIChat needs a server: pass base_url= or set OPENAI_BASE_URL "
                "(for example http://127.0.0.1:8000/v1)"
            )
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        if max_concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise ValueError("need max_concurrency >= 1, max_retries >= 0 and timeout > 0")
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._jitter = random.Random()

    def describe(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.model, "base_url": self.base_url}

    def generate(self, conversations: Sequence[list[Message]], seeds: Sequence[int]) -> list[str]:
        coroutine = self._generate_all(list(conversations), list(seeds))
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coroutine)
        # Called from inside an event loop (a notebook): run ours in a worker thread.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coroutine).result()

    async def _generate_all(
        self, conversations: list[list[Message]], seeds: list[int]
    ) -> list[str]:
        from openai import AsyncOpenAI

        limit = asyncio.Semaphore(self.max_concurrency)
        async with AsyncOpenAI(
            base_url=self.base_url, api_key=self.api_key, timeout=self.timeout, max_retries=0
        ) as client:

            async def one(messages: list[Message], seed: int) -> str:
                async with limit:
                    return await self._complete(client, messages, seed)

            return list(
                await asyncio.gather(
                    *(one(m, s) for m, s in zip(conversations, seeds, strict=True))
                )
            )

    async def _complete(self, client, messages: list[Message], seed: int) -> str:
        import openai

        retryable = (
            openai.APITimeoutError,
            openai.APIConnectionError,
            openai.RateLimitError,
            openai.InternalServerError,
        )
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            try:
                response = await client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=self.sampling.temperature,
                    top_p=self.sampling.top_p,
                    max_tokens=self.sampling.max_new_tokens,
                    seed=seed,
                )
                return response.choices[0].message.content or "" if response.choices else ""
            except retryable as exc:
                last = exc
                if attempt < self.max_retries:
                    delay = self.backoff * 2**attempt
                    await asyncio.sleep(delay * (0.5 + random.random()))
            except openai.APIStatusError as exc:
                raise CustomerBackendError(
                    f"openai {self.role}: the server at {self.base_url} refused model "
                    f"{self.model!r} with HTTP {exc.status_code}: {exc.message}. Check the model "
                    "name, the API key and the request limits."
                ) from exc
        raise CustomerBackendError(
            f"openai {self.role}: no answer from {self.base_url} for model {self.model!r} after "
            f"{self.max_retries + 1} tries ({type(last).__name__}: {last}). Check that the "
            "server is running and reachable, and its load."
        ) from last


#: The name before 0.2 (the class drives the salesperson and the graders too, not only the
#: customer); kept so that existing imports and configs keep working.
OpenAICustomer = OpenAIChat
