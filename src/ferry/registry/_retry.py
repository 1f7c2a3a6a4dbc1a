"""When the registry client tries a request again, and how long it waits first.

The policy is data (`RetryPolicy`) and the decision is a plain function (`retry_delay`), so that the transport,
the chunked uploader and the tests share one rule instead of each carrying a loop of its own:

- retried: connection errors (refused, reset, dropped mid-body), timeouts, and the statuses that mean "not now"
  (429 Too Many Requests, 502/503/504);
- never retried: any other 4xx (a 400 will be a 400 again), TLS certificate and protocol errors (talking HTTPS
  to a plain-HTTP registry fails the same way every time). 401 is not a retry: the transport answers it once
  with fresh credentials, which is authentication, not back-off;
- back-off doubles from `base_delay_seconds` and is capped at `max_delay_seconds`; a `Retry-After` header in
  seconds is honoured up to the same cap. No jitter: the client runs a handful of requests, not a fleet.

`attempts` counts every try, the first included: the default 4 means one request and up to three retries.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "is_retryable_error", "retry_delay"]

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry. `attempts` includes the first try."""

    attempts: int = 4
    base_delay_seconds: float = 0.2
    max_delay_seconds: float = 5.0


def is_retryable_error(error: BaseException) -> bool:
    """True for connection failures and timeouts; False for TLS errors, which do not heal by waiting."""
    if isinstance(error, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch):
        return False
    return isinstance(
        error, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError | asyncio.TimeoutError
    )


def _retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: rare from registries; the exponential delay stands
    return seconds if seconds >= 0 else None


def retry_delay(
    policy: RetryPolicy,
    attempts_made: int,
    *,
    status: int | None = None,
    error: BaseException | None = None,
    retry_after: str | None = None,
) -> float | None:
    """Seconds to wait before the next try, or None to give up.

    `attempts_made` is how many tries already failed (1 after the first). Pass the failed response's `status`
    (and its `Retry-After` header) or the `error` raised; with neither, the failure counts as retryable.
    """
    if attempts_made >= policy.attempts:
        return None
    if status is not None and status not in RETRYABLE_STATUSES:
        return None
    if error is not None and not is_retryable_error(error):
        return None
    delay: float = min(policy.max_delay_seconds, policy.base_delay_seconds * 2.0 ** max(attempts_made - 1, 0))
    asked = _retry_after_seconds(retry_after)
    if asked is not None:
        delay = min(policy.max_delay_seconds, max(delay, asked))
    return delay
