from __future__ import annotations

import uuid

import pytest

from marketing_agent.bot import callbacks


def test_every_button_fits_in_64_bytes_with_uuid_ids() -> None:
    run_id, output_id = str(uuid.uuid4()), str(uuid.uuid4())
    data = [
        callbacks.full_output(run_id),
        *(callbacks.rating(output_id, score) for score in range(1, 6)),
        callbacks.skill_category_page("copywriting", 999),
        callbacks.SKILL_CATEGORIES,
        callbacks.skill_detail("a" * 64),
        callbacks.free_text_run("a" * 64),
        callbacks.NOOP,
    ]
    assert all(1 <= len(item.encode()) <= callbacks.MAX_BYTES for item in data)


def test_long_skill_names_become_a_resolvable_hash() -> None:
    long_name = "x" * 64
    token = callbacks.skill_token(long_name)
    assert token.startswith("#")
    assert callbacks.resolve_skill_token(token, ["copywriting", long_name]) == long_name
    assert callbacks.skill_token("copywriting") == "copywriting"
    assert callbacks.resolve_skill_token("gone", ["copywriting"]) is None


def test_too_long_data_is_refused_before_reaching_telegram() -> None:
    with pytest.raises(callbacks.CallbackDataTooLong):
        callbacks.full_output("r" * 70)
    with pytest.raises(ValueError, match="1 to 5"):
        callbacks.rating("o", 6)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("o:run-1", callbacks.Callback("o", "run-1")),
        ("rt:out-1:5", callbacks.Callback("rt", "out-1", 5)),
        ("sp:2", callbacks.Callback("sp", "2")),
        ("sc", callbacks.Callback("sc")),
        ("sc:cro:3", callbacks.Callback("sc", "cro", page=3)),
        ("sc:other:0", callbacks.Callback("sc", "other", page=0)),
        ("sc:cro", None),
        ("sc:cro:x", None),
        ("sc::1", None),
        ("fr:copywriting", callbacks.Callback("fr", "copywriting")),
        ("n", callbacks.Callback("n")),
        ("rt:out-1:9", None),
        ("rt::3", None),
        ("sp:x", None),
        ("zz:1", None),
        ("", None),
    ],
)
def test_parse(data: str, expected: callbacks.Callback | None) -> None:
    assert callbacks.parse(data) == expected
