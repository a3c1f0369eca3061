"""A small GitHub REST client: one session, the auth header, retries, error mapping.

Every failure becomes a one-line BackendError. The token lives only in the
session's headers: it is never part of a message, a log line or a repr, and
it is never sent to a host other than the API host (artifact downloads
redirect to blob storage, which must not see it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from orchestrator.errors import BackendError, UsageError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"


def token_from_env(
    environ: dict[str, str] | None = None,
    needs: str = "`actions: write` (to dispatch) and `actions: read` (to watch)",
) -> str:
    """The token from GITHUB_TOKEN, else GH_TOKEN; a UsageError (exit 2, like a missing
    WANDB_API_KEY) when neither is set. `needs` names the permissions in that message."""
    env = os.environ if environ is None else environ
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        value = env.get(name, "").strip()
        if value:
            return value
    raise UsageError(f"no GitHub token: set GITHUB_TOKEN or GH_TOKEN to a token with {needs}")


class GitHubUnreachable(BackendError):
    """The API host could not be reached at all (DNS, refused connection, timeout)."""


class GitHubClient:
    """Calls the GitHub REST API with retries on 5xx and on rate limits.

    `permission` names the token permission an operation needs; a 403 names it
    so the user knows what to grant. `sleep` is injectable so tests run fast.
    """

    def __init__(
        self,
        token: str,
        api_url: str = DEFAULT_API_URL,
        *,
        max_retries: int = 5,
        max_total_wait: float = 120.0,
        backoff_base: float = 0.5,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.max_retries = max_retries
        self.max_total_wait = max_total_wait
        self.backoff_base = backoff_base
        self.timeout = timeout
        self.sleep = sleep
        self._api_host = urlsplit(self.api_url).netloc
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "sweepci",
            }
        )
        # Kept apart from the session headers so it is added only for the API host.
        self._auth = {"Authorization": f"Bearer {token}"}

    def __repr__(self) -> str:
        return f"GitHubClient(api_url={self.api_url!r})"

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        permission: str = "actions: read",
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        not_found: str | None = None,
        allow_redirects: bool = True,
    ) -> requests.Response:
        """Send a request, retrying transient failures; return the 2xx/3xx response.

        `not_found` is the message for a 404, which means different things per endpoint.
        """
        url = path_or_url if "://" in path_or_url else f"{self.api_url}{path_or_url}"
        headers = self._auth if urlsplit(url).netloc == self._api_host else {}
        waited = 0.0
        for attempt in range(self.max_retries + 1):
            try:
                response = self._session.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=allow_redirects,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                delay = self._backoff(attempt)
                if attempt == self.max_retries or waited + delay > self.max_total_wait:
                    # The exception text holds the URL but never request headers.
                    raise GitHubUnreachable(
                        f"cannot reach {self.api_url}: {type(exc).__name__}"
                    ) from None
                waited += delay
                self.sleep(delay)
                continue
            if response.status_code < 400:
                return response
            # A 5xx on the dispatch POST is retried too: GitHub documents these as
            # transient, and a rare duplicate run beats a sweep that never starts.
            delay = self._retry_delay(response, attempt)
            if delay is None or attempt == self.max_retries:
                raise self._error(response, method, permission, not_found)
            if waited + delay > self.max_total_wait:
                raise BackendError(
                    f"GitHub is rate limiting or failing ({response.status_code}); gave up after "
                    f"waiting {waited:.0f}s (would need {delay:.0f}s more); try again later"
                )
            waited += delay
            self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET a path and decode its JSON body."""
        return self.request("GET", path, **kwargs).json()

    def _backoff(self, attempt: int) -> float:
        return self.backoff_base * (2**attempt)

    def _retry_delay(self, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the error is final."""
        status = response.status_code
        headers = response.headers
        rate_limited = status == 429 or (
            status == 403
            and (headers.get("X-RateLimit-Remaining") == "0" or "Retry-After" in headers)
        )
        if not rate_limited and status < 500:
            return None
        retry_after = _parse_retry_after(headers.get("Retry-After"))
        if retry_after is not None:
            return retry_after
        if rate_limited and headers.get("X-RateLimit-Reset", "").isdigit():
            # The reset is an epoch second; +1 because GitHub rounds down.
            return max(0.0, int(headers["X-RateLimit-Reset"]) - time.time() + 1)
        return self._backoff(attempt)

    def _error(
        self, response: requests.Response, method: str, permission: str, not_found: str | None
    ) -> BackendError:
        status = response.status_code
        message = _github_message(response)
        if status == 401:
            return BackendError(
                "GitHub rejected the token (401 Bad credentials); check GITHUB_TOKEN or GH_TOKEN"
            )
        if status == 403:
            return BackendError(
                f"GitHub refused access (403): the token needs the `{permission}` permission"
                f" on this repository{_suffix(message)}"
            )
        if status == 404:
            return BackendError(not_found or f"not found (404){_suffix(message)}")
        if status == 422:
            return BackendError(f"GitHub rejected the request (422){_suffix(message)}")
        if status == 429 or status >= 500:
            return BackendError(f"GitHub kept failing ({status}) after retries{_suffix(message)}")
        return BackendError(f"GitHub answered {status} to {method}{_suffix(message)}")


def _suffix(message: str) -> str:
    return f": {message}" if message else ""


def _github_message(response: requests.Response) -> str:
    """GitHub's own explanation (`message`, plus `errors`), on one short line."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(body.get("message", "")).strip()]
    for item in body.get("errors") or []:
        parts.append(str(item.get("message", item)) if isinstance(item, dict) else str(item))
    return " ".join("; ".join(p for p in parts if p).split())[:500]


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
