"""Error types: one per failure a user must handle differently.

Every message is written for the person in front of ComfyUI: what happened, and what to do.
Once a job was submitted, the message names its request id and, while a paid result may still
exist, how to get it without paying again (``RECOVERY_NODE``).
No error ever carries the API token: messages are built from our own words, error codes and
the API's error text, never from request headers (``config.ApiSettings`` refuses a token that
``http.client`` would quote in its own error).
"""
from __future__ import annotations

import sys

#: display name of the node that recovers a result by request id (nodes/fetch_result_node.py)
RECOVERY_NODE = "Kling 3.0 Fetch Result (RunComfy)"


def recovery_text(request_id: str) -> str:
    return (f"To get this result without paying again, run the graph again unchanged, or give "
            f"request id {request_id} to the '{RECOVERY_NODE}' node")


class RunComfyError(Exception):
    """Base of every error this pack raises on purpose."""

    #: what the user can do about it; appended to the message
    hint: str = ""
    #: False when no paid result can exist (the job failed or was cancelled, or the result is
    #: gone): then the message does not point to the recovery node, which could not help
    recoverable: bool = True

    def __init__(self, message: str, *, request_id: str | None = None, hint: str | None = None):
        self.request_id = request_id
        if hint is not None:
            self.hint = hint
        self.reason = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = self.reason
        if self.request_id:
            text += f" (request id {self.request_id})"
        if self.hint:
            text += f". {self.hint}"
        if self.request_id and self.recoverable:
            text += f". {recovery_text(self.request_id)}"
        return text

    def with_request_id(self, request_id: str | None) -> "RunComfyError":
        """Attach the request id (when it became known after the error was made)."""
        if request_id and not self.request_id:
            self.request_id = request_id
            self.args = (self._compose(),)
        return self


# --- before anything is sent -------------------------------------------------------------------

class ConfigurationError(RunComfyError):
    """The pack is not set up to talk to the API (token, base URL)."""


class StateFileError(ConfigurationError):
    """A file of the pack's own state (journal, result cache, timings, saved token) is damaged,
    of the wrong kind, or cannot be written; the message names the file and what to do."""

    hint = ""


class BudgetExceededError(RunComfyError):
    """The spend guard refused a submission; nothing was sent."""

    def __init__(self, budget, spent: float, in_flight: float, estimate: float, count: int = 1):
        self.budget, self.spent, self.in_flight, self.estimate = budget, spent, in_flight, estimate
        period = "today" if budget.period == "daily" else "this month"
        what = "this job" if count == 1 else f"these {count} jobs"
        where = ("in ComfyUI's settings (RunComfy)" if budget.source == "settings"
                 else f"with {budget.source} (it overrides the settings)")
        super().__init__(
            f"The {budget.period} budget of USD {budget.usd:.2f} would be exceeded: spent {period} "
            f"USD {spent:.2f}, in flight USD {in_flight:.2f}, {what} USD {estimate:.2f}",
            hint=f"Nothing was submitted. Raise or clear the {budget.period} budget {where}, or wait "
                 f"for the next {'day' if budget.period == 'daily' else 'month'}")


class MissingTokenError(ConfigurationError):
    hint = ("Set the environment variable RUNCOMFY_API_TOKEN (or RUNCOMFY_TOKEN) to your RunComfy "
            "API key, or paste it in ComfyUI's settings under RunComfy. A key comes from "
            "https://www.runcomfy.com/profile (API keys). On RunComfy-hosted ComfyUI it is set "
            "for you")


class InvalidInputError(RunComfyError, ValueError):
    """A node input breaks a rule of the API schema; nothing was sent, nothing was charged."""

    def __init__(self, field: str, rule: str, value: object, *, hint: str | None = None):
        self.field, self.rule, self.value = field, rule, value
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}: {rule} (got {shown})", hint=hint or "Nothing was submitted and nothing was charged")


# --- answers of the API ------------------------------------------------------------------------

def refused_token_advice(source: str | None) -> str:
    """What to do about a refused token, for the place it came from: a token saved in ComfyUI's
    settings ("settings") is used before the environment variables, so setting one changes nothing."""
    new_key = "Create a new key at https://www.runcomfy.com/profile"
    if source == "settings":
        return f"{new_key} and paste it in Settings \u2192 RunComfy"
    if source in ("RUNCOMFY_API_TOKEN", "RUNCOMFY_TOKEN"):
        return f"{new_key}, set {source} to it and restart ComfyUI (or paste it in Settings \u2192 RunComfy)"
    return f"{new_key} and paste it in Settings \u2192 RunComfy, or set RUNCOMFY_API_TOKEN"


class AuthenticationError(RunComfyError):
    hint = "The API token was refused (wrong, revoked or expired). " + refused_token_advice(None)

    def for_token_source(self, source: str | None) -> "AuthenticationError":
        """Name the source of the refused token in the advice (see ``refused_token_advice``)."""
        where = {"settings": " saved in Settings", "RUNCOMFY_API_TOKEN": " from RUNCOMFY_API_TOKEN",
                 "RUNCOMFY_TOKEN": " from RUNCOMFY_TOKEN"}.get(source or "", "")
        self.hint = (f"The API token{where} was refused (wrong, revoked or expired). "
                     + refused_token_advice(source))
        self.args = (self._compose(),)
        return self


class PermissionDeniedError(RunComfyError):
    hint = "This request belongs to another RunComfy account; use the token of the account that made it"


class InsufficientBalanceError(RunComfyError):
    hint = "Your RunComfy balance is too low for this generation; top up at https://www.runcomfy.com and run again"


class UnknownModelError(RunComfyError):
    hint = "The API does not know this model id; update the pack"


class InputRejectedError(RunComfyError):
    """The API's own validation refused the input (422001); ``detail`` lists the fields."""

    def __init__(self, message: str, *, detail: object = None, request_id: str | None = None):
        self.detail = detail
        if detail:
            message = f"{message}: {detail}"
        super().__init__(message, request_id=request_id, hint="Fix the listed inputs and run again; nothing was charged")


class RequestNotFoundError(RunComfyError):
    hint = "The API no longer knows this request: the id is wrong, or the request was deleted or expired"
    recoverable = False


class RateLimitedError(RunComfyError):
    hint = "The API is rate limiting this account; wait a minute and run again"

    def __init__(self, message: str, *, retry_after: float | None = None, request_id: str | None = None):
        self.retry_after = retry_after
        super().__init__(message, request_id=request_id)


class ServerError(RunComfyError):
    hint = "The RunComfy API had a server error; try again in a few minutes"


class ProtocolError(RunComfyError):
    """The API answered something this pack cannot read (malformed JSON, missing fields)."""

    hint = "The RunComfy API answered in an unexpected form; try again, and report it if it persists"


class SubmissionOutcomeUnknownError(RunComfyError):
    """The submit request may have reached the API but no answer came back.

    It is never re-sent automatically: that could start (and bill) a second job.
    """

    hint = ("The connection broke after the request was sent, so a job may have been created and "
            "charged; it is not sent again by itself. Look for it in your RunComfy request history: "
            f"if it is there, give its request id to the '{RECOVERY_NODE}' node; if it is not, "
            "change the seed to submit again")


# --- the job itself ----------------------------------------------------------------------------

class JobFailedError(RunComfyError):
    hint = "The generation failed on RunComfy's side; change the prompt or try again"
    recoverable = False

    def __init__(self, message: str, *, reason: object = None, request_id: str | None = None):
        self.failure = reason
        super().__init__(message, request_id=request_id)


class JobCancelledError(RunComfyError):
    hint = "The job was cancelled; run the node again to start a new one"
    recoverable = False


class WaitTimeoutError(RunComfyError):
    hint = "The job did not finish in time; it may still finish on RunComfy"


class StoppedError(RunComfyError):
    """The caller asked to stop waiting (ComfyUI's Cancel)."""

    def __init__(self, message: str, *, request_id: str | None = None, remote_cancelled: bool | None = None):
        self.remote_cancelled = remote_cancelled
        # a job cancelled while queued produced nothing (and cost nothing) to recover
        self.recoverable = not remote_cancelled
        super().__init__(message, request_id=request_id, hint="")


# --- getting and reading the file -------------------------------------------------------------

class DownloadError(RunComfyError):
    hint = "The video could not be downloaded"


class ResultExpiredError(DownloadError):
    hint = "The result file has expired on RunComfy's storage (results are kept for a limited time)"
    recoverable = False


class FileTooLargeError(DownloadError):
    hint = "The file is larger than the download limit; raise the limit if this is expected"


class UnsafeResultUrlError(DownloadError):
    """The API named (or the storage host redirected to) a place this pack never downloads from."""

    hint = ("Nothing was fetched from it. This is not a normal RunComfy storage address; if it happens "
            "again, report it to RunComfy with the request id")
    recoverable = False


class DecodeError(RunComfyError):
    hint = "The downloaded file is not a readable video"


class NotEnoughMemoryError(RunComfyError):
    """Decoding would need more memory than the machine has available."""

    hint = ""


class ApiUnreachableError(RunComfyError):
    """No connection could be made to the API (nothing was sent, nothing was charged)."""

    hint = ("Check the network, any proxy settings, and RUNCOMFY_API_BASE if you set it; nothing "
            "was charged")


# ComfyUI's error panel names an exception by ``__module__ + "." + __qualname__``; for a pack
# that is its folder on disk ("/home/.../custom_nodes/<folder>.core.errors.AuthenticationError"),
# a machine path in every shared screenshot. The pack's errors carry a short, stable module
# name instead, and that name is registered as an alias of this module, so pickling (which looks
# a class up by it) keeps working.
PUBLIC_MODULE = "RunComfyKling3"
for _error in [value for value in list(globals().values())
               if isinstance(value, type) and issubclass(value, RunComfyError)]:
    _error.__module__ = PUBLIC_MODULE
sys.modules.setdefault(PUBLIC_MODULE, sys.modules[__name__])
del _error
