"""The saved API token: owner-only file, atomic replace, masking, and which token wins."""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from comfyui_harness import platform_skipif
from pack_loader import pack_module

token_store = pack_module("core.store.token_file")
errors = pack_module("core.errors")
TokenStore = token_store.TokenStore
mask = pack_module("core.redaction").mask
resolve_token = pack_module("core.api.settings").resolve_token

TOKEN = "rc_live_0123456789abcdefWXYZ"
posix_only = platform_skipif(os.name != "posix", "POSIX file modes")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- store ----------------------------------------------------------------------------------------

def test_nothing_saved_loads_none(tmp_path):
    assert TokenStore(tmp_path / "runcomfy" / "api_token").load() is None


def test_save_then_load_round_trips_and_strips_whitespace(tmp_path):
    store = TokenStore(tmp_path / "runcomfy" / "api_token")
    store.save(f"  {TOKEN}\n")
    assert store.load() == TOKEN
    assert TokenStore(store.path).load() == TOKEN  # a new process reads the same file


@posix_only
def test_file_is_0600_and_its_folder_0700_even_with_a_permissive_umask(tmp_path):
    user_dir = tmp_path / "user"
    user_dir.mkdir()
    os.chmod(user_dir, 0o755)
    old = os.umask(0)
    try:
        store = TokenStore(user_dir / "runcomfy" / "api_token")
        store.save(TOKEN)
    finally:
        os.umask(old)
    assert mode(store.path) == 0o600
    assert mode(store.path.parent) == 0o700
    assert mode(user_dir) == 0o755  # ComfyUI's user directory is not ours to change


@posix_only
def test_existing_open_folder_is_tightened(tmp_path):
    folder = tmp_path / "runcomfy"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    TokenStore(folder / "api_token").save(TOKEN)
    assert mode(folder) == 0o700


@posix_only
def test_a_loosened_file_is_closed_again_on_load(tmp_path):
    store = TokenStore(tmp_path / "api_token")
    store.save(TOKEN)
    os.chmod(store.path, 0o644)
    assert store.load() == TOKEN
    assert mode(store.path) == 0o600


def test_save_replaces_atomically_and_leaves_no_temporary_files(tmp_path):
    store = TokenStore(tmp_path / "runcomfy" / "api_token")
    store.save(TOKEN)
    store.save("second-token-value-1234")
    assert store.load() == "second-token-value-1234"
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["api_token"]


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", "two\nlines-token", "with space-token", "tab\there", "nul\x00x"])
def test_empty_multi_line_or_spaced_tokens_are_refused_and_nothing_is_written(tmp_path, bad):
    store = TokenStore(tmp_path / "runcomfy" / "api_token")
    store.save(TOKEN)
    with pytest.raises(errors.InvalidInputError) as info:
        store.save(bad)
    assert store.load() == TOKEN
    assert info.value.field == "token"


def test_refusal_message_never_contains_the_token(tmp_path):
    secret = "secretpart-" + "x" * 20 + "\nsecond-line-SECRET"
    with pytest.raises(errors.InvalidInputError) as info:
        TokenStore(tmp_path / "api_token").save(secret)
    assert "secretpart" not in str(info.value) and "SECRET" not in str(info.value)
    assert "token" in str(info.value)


def test_non_text_token_is_refused(tmp_path):
    store = TokenStore(tmp_path / "api_token")
    with pytest.raises(errors.InvalidInputError):
        store.save(None)  # type: ignore[arg-type]
    assert not store.path.exists()  # nothing written
    store.save(TOKEN)
    with pytest.raises(errors.InvalidInputError):
        store.save(b"rk-bytes")  # type: ignore[arg-type]
    assert TokenStore(store.path).load() == TOKEN  # the saved token is left as it was


def test_clear_forgets_and_is_idempotent(tmp_path):
    store = TokenStore(tmp_path / "api_token")
    store.save(TOKEN)
    store.clear()
    assert store.load() is None and not store.path.exists()
    store.clear()
    assert store.load() is None and not store.path.exists()
    assert TokenStore(store.path).load() is None  # forgotten on disk, not only in this object


def test_repr_shows_no_token(tmp_path):
    store = TokenStore(tmp_path / "api_token")
    store.save(TOKEN)
    assert TOKEN not in repr(store) and TOKEN[-4:] not in repr(store)


@pytest.mark.parametrize("damage", ["folder", b"\xff\xfe\x00 not utf-8", b"x" * 100_000])
def test_a_damaged_token_file_is_an_error_naming_it_not_a_silent_switch_of_account(tmp_path, damage):
    store = TokenStore(tmp_path / "api_token")
    if damage == "folder":
        store.path.mkdir()
    else:
        store.path.write_bytes(damage)
    with pytest.raises(errors.StateFileError) as info:
        store.load()
    assert str(store.path) in str(info.value) and "Save the key again" in str(info.value)


@posix_only
def test_unreadable_file_is_an_error_naming_it(tmp_path):
    store = TokenStore(tmp_path / "api_token")
    store.save(TOKEN)
    os.chmod(store.path, 0)
    try:
        if os.geteuid() != 0:
            with pytest.raises(errors.StateFileError, match="cannot be read"):
                store.load()
        else:
            # Root reads any file, so read it as an unprivileged user (the effective uid, for
            # this one call) from a folder that user owns: the check still meets a file it
            # may not read.
            nobody = 65534
            folder = Path(tempfile.mkdtemp(prefix="token-store-"))  # /tmp: anyone passes through
            try:
                theirs = TokenStore(folder / "api_token")
                theirs.save(TOKEN)
                os.chmod(theirs.path, 0)
                os.chown(folder, nobody, nobody)
                os.chown(theirs.path, nobody, nobody)
                os.seteuid(nobody)
                try:
                    denied = not os.access(theirs.path, os.R_OK, effective_ids=True)
                    with pytest.raises(errors.StateFileError, match="cannot be read"):
                        theirs.load()
                finally:
                    os.seteuid(0)
                assert denied
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.chmod(store.path, 0o600)



# --- mask -----------------------------------------------------------------------------------------

def test_mask_shows_at_most_the_last_four_characters():
    assert mask(TOKEN) == "\u2022\u2022\u2022\u2022WXYZ"
    assert mask(None) == "" and mask("") == ""
    for token in ("abcdefgh", "abc", "abcdefghijkl", "x" * 200):
        shown = mask(token)[4:]
        assert len(shown) <= min(4, len(token) // 4)
        assert token.endswith(shown)
    assert mask("abc") == "\u2022\u2022\u2022\u2022"  # a short token shows nothing at all


# --- precedence -----------------------------------------------------------------------------------

def test_saved_token_wins_over_both_environment_variables():
    env = {"RUNCOMFY_API_TOKEN": "env-api", "RUNCOMFY_TOKEN": "env-cli"}
    assert resolve_token("saved", env) == ("saved", "settings")


def test_then_runcomfy_api_token_then_runcomfy_token():
    assert resolve_token(None, {"RUNCOMFY_API_TOKEN": "env-api", "RUNCOMFY_TOKEN": "env-cli"}) == (
        "env-api", "RUNCOMFY_API_TOKEN")
    assert resolve_token(None, {"RUNCOMFY_TOKEN": "env-cli"}) == ("env-cli", "RUNCOMFY_TOKEN")
    assert resolve_token(None, {}) == (None, None)


def test_blank_values_are_ignored_and_values_are_stripped():
    env = {"RUNCOMFY_API_TOKEN": "   ", "RUNCOMFY_TOKEN": " env-cli \n"}
    assert resolve_token("  ", env) == ("env-cli", "RUNCOMFY_TOKEN")
    assert resolve_token("", {"RUNCOMFY_API_TOKEN": ""}) == (None, None)


def test_default_environment_is_the_process_environment(monkeypatch):
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", "from-process")
    monkeypatch.delenv("RUNCOMFY_TOKEN", raising=False)
    assert resolve_token(None) == ("from-process", "RUNCOMFY_API_TOKEN")


def test_client_settings_use_the_same_precedence(monkeypatch):
    config = pack_module("core.api.settings")
    settings = config.load_settings("saved-token", {"RUNCOMFY_API_TOKEN": "env-token"})
    assert settings.token == "saved-token" and settings.token_source == "settings"
    assert "saved-token" not in repr(settings)



def test_a_pasted_mask_or_non_ascii_text_is_refused(tmp_path):
    store = TokenStore(tmp_path / "api_token")
    for bad in ("\u2022\u2022\u2022\u2022abcd", "tok\u00e9n"):
        with pytest.raises(errors.InvalidInputError, match="ASCII"):
            store.save(bad)
    assert store.load() is None
