from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest

from marketing_agent.errors import InvalidStorageKey
from marketing_agent.storage import keys


def test_skill_and_client_prefixes() -> None:
    assert keys.skill_prefix("copywriting") == "skills/copywriting/"
    assert keys.skill_file_key("seo-audit", "references/checklist.md") == "skills/seo-audit/references/checklist.md"
    assert keys.client_prefix("acme-co") == "clients/acme-co/"


@pytest.mark.parametrize("name", ["", "Acme", "a_b", "-a", "a--b", "a/b", "..", "x" * 65])
def test_bad_names_and_slugs_are_refused(name: str) -> None:
    with pytest.raises(InvalidStorageKey):
        keys.skill_prefix(name)
    with pytest.raises(InvalidStorageKey):
        keys.client_prefix(name)


@pytest.mark.parametrize(
    ("relative", "expected"),
    [("profile.md", "clients/acme/profile.md"), ("brand/voice.md", "clients/acme/brand/voice.md")],
)
def test_client_file_key(relative: str, expected: str) -> None:
    assert keys.client_file_key("acme", relative) == expected
    assert keys.client_relative_path("acme", expected) == relative


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("../other/profile.md", "'..'"),
        ("/etc/profile.md", "absolute"),
        ("brand/../../x.md", "'..'"),
        ("notes.txt", "markdown"),
        ("image.png", "markdown"),
        ("brand/", "empty"),
        (".md", "'.'"),
        ("a\\b.md", "backslash"),
    ],
)
def test_client_file_key_refuses(relative: str, reason: str) -> None:
    with pytest.raises(InvalidStorageKey) as info:
        keys.client_file_key("acme", relative)
    assert reason in info.value.message
    assert repr(relative) in info.value.message


def test_client_relative_path_refuses_foreign_keys() -> None:
    with pytest.raises(InvalidStorageKey):
        keys.client_relative_path("acme", "clients/other/profile.md")
    with pytest.raises(InvalidStorageKey):
        keys.client_relative_path("acme", "clients/acme/")


def test_output_key_is_unique_per_run_and_names_the_day() -> None:
    run_a, run_b = uuid.uuid4(), uuid.uuid4()
    key_a = keys.output_key("copywriting", "acme", date(2026, 3, 9), run_a)
    key_b = keys.output_key("copywriting", "acme", date(2026, 3, 9), run_b)
    assert key_a == f"outputs/copywriting/acme/2026-03-09-{run_a}.md"
    assert key_a != key_b
    assert keys.output_key("copywriting", None, date(2026, 3, 9), "r1") == "outputs/copywriting/_none/2026-03-09-r1.md"
    keys.validate_key(key_a)


def test_output_key_uses_only_the_date_of_a_datetime() -> None:
    key = keys.output_key("copywriting", None, datetime(2026, 3, 9, 23, 59), "r1")
    assert key == "outputs/copywriting/_none/2026-03-09-r1.md"


@pytest.mark.parametrize("run_id", ["", "a/b", "../x", "a b"])
def test_output_key_refuses_unsafe_run_ids(run_id: str) -> None:
    with pytest.raises(InvalidStorageKey):
        keys.output_key("copywriting", None, date(2026, 1, 1), run_id)


def test_output_prefix() -> None:
    assert keys.output_prefix() == "outputs/"
    assert keys.output_prefix("copywriting") == "outputs/copywriting/"
    assert keys.output_prefix("copywriting", "acme") == "outputs/copywriting/acme/"


@pytest.mark.parametrize("key", ["a.md", "a/b/c.md", "clients/acme/brand voice.md", "ünïcode/ключ.md"])
def test_valid_keys_pass_unchanged(key: str) -> None:
    assert keys.validate_key(key) == key


@pytest.mark.parametrize("prefix", ["", "a/", "a/b", "clients/acme/"])
def test_valid_prefixes(prefix: str) -> None:
    assert keys.validate_prefix(prefix) == prefix
