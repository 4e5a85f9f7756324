"""The API token pasted in ComfyUI's settings: kept in one owner-only file, never shown in full.

Inside ComfyUI the file lives in the system-user folder ``user/__runcomfy/``: ComfyUI serves
``user/<user>/`` (normally ``user/default``) to the browser through its ``/userdata`` routes, but
never a ``__`` folder. It is never written into a workflow, and the browser only ever gets
``mask(token)`` back.

Which token is used (this one or the environment's) is decided by ``api.settings.resolve_token``.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from ..errors import InvalidInputError, StateFileError
from ..redaction import mask
from .files import atomic_write, fsync_directory

log = logging.getLogger("runcomfy_kling3")

MAX_TOKEN_CHARS = 4096
FILE_MODE = 0o600
DIR_MODE = 0o700
_POSIX = os.name == "posix"


def check_token_text(token: object) -> str:
    """The token stripped of surrounding whitespace; ``InvalidInputError`` (masked) otherwise."""
    if not isinstance(token, str):
        raise InvalidInputError("token", "must be text", type(token).__name__, hint=_PASTE_HINT)
    token = token.strip()
    if not token:
        raise InvalidInputError("token", "must not be empty", "", hint=_PASTE_HINT)
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidInputError("token", f"must be at most {MAX_TOKEN_CHARS} characters",
                                f"{len(token)} characters", hint=_PASTE_HINT)
    if not token.isascii() or any(ch.isspace() or not ch.isprintable() for ch in token):
        # Never echo the value: it is (part of) a secret. The mask is enough to recognise it.
        raise InvalidInputError("token", "must be one line of plain ASCII without spaces (a pasted mask "
                                "like \u2022\u2022\u2022\u2022abcd is not the key)",
                                mask(token), hint=_PASTE_HINT)
    return token


_PASTE_HINT = "Paste the API key exactly as shown on https://www.runcomfy.com/profile"


class TokenStore:
    """One token in one file. Holds no copy of the token, so nothing can leak through ``repr``."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r})"

    def load(self) -> str | None:
        """The saved token, or ``None`` when none is saved. A file that is there but cannot be
        read is ``StateFileError``: quietly falling back to an environment variable could run
        the user's jobs on another account."""
        try:
            info = self.path.stat()
            with open(self.path, "rb") as handle:
                raw = handle.read(MAX_TOKEN_CHARS * 4 + 2)
            text = raw.decode("utf-8")
            if len(text.strip()) > MAX_TOKEN_CHARS:
                raise ValueError(f"over {MAX_TOKEN_CHARS} characters")
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StateFileError(
                f"The API token saved in {self.path} cannot be read ({type(exc).__name__})",
                hint="Save the key again in ComfyUI's settings (RunComfy), or remove that file to use "
                     "the RUNCOMFY_API_TOKEN environment variable; nothing was sent") from None
        if _POSIX and info.st_mode & 0o077:
            # Someone loosened it (a copy, a backup restore): close it again rather than refuse.
            self._chmod(self.path, FILE_MODE)
        token = text.strip()
        return token or None

    def save(self, token: str) -> None:
        """Replace the saved token atomically; the file is 0600 from its first byte."""
        token = check_token_text(token)
        self._ensure_dir()
        atomic_write(self.path, (token + "\n").encode("utf-8"), mode=FILE_MODE)

    def clear(self) -> None:
        """Forget the saved token (the environment variables, if any, apply again)."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        fsync_directory(self.path.parent)

    def _ensure_dir(self) -> None:
        directory = self.path.parent
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if _POSIX and stat.S_IMODE(directory.stat().st_mode) != DIR_MODE:
            # Only our own folder is tightened; the ComfyUI user directory above it is left alone.
            self._chmod(directory, DIR_MODE)

    @staticmethod
    def _chmod(path: Path, mode: int) -> None:
        try:
            os.chmod(path, mode)
        except OSError as exc:
            log.warning("RunComfy: could not restrict permissions of %s (%s)", path, type(exc).__name__)
