"""The event models keep the seed's wire shape: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from marketing_agent.functions import (
    FEEDBACK_PROCESS,
    SKILL_EXECUTE,
    SKILL_EXECUTE_COMPLETED,
    SKILL_EXECUTE_FAILED,
    FeedbackProcess,
    SkillExecute,
    SkillExecuteCompleted,
    SkillExecuteFailed,
)


def test_event_names_are_the_seeds() -> None:
    assert (SKILL_EXECUTE, SKILL_EXECUTE_COMPLETED, SKILL_EXECUTE_FAILED, FEEDBACK_PROCESS) == (
        "skill.execute",
        "skill.execute.completed",
        "skill.execute.failed",
        "feedback.process",
    )
    assert SkillExecute.name() == SKILL_EXECUTE
    assert SkillExecuteCompleted.name() == SKILL_EXECUTE_COMPLETED
    assert SkillExecuteFailed.name() == SKILL_EXECUTE_FAILED
    assert FeedbackProcess.name() == FEEDBACK_PROCESS


def test_skill_execute_wire_shape_round_trips() -> None:
    wire = {
        "runId": "r1",
        "skillName": "copywriting",
        "userMessage": "Write the homepage",
        "userId": "u1",
        "clientId": "c1",
        "options": {"tone": "plain"},
    }
    event = SkillExecute.from_data(wire)
    assert (event.run_id, event.skill_name, event.user_id, event.client_id) == (
        "r1",
        "copywriting",
        "u1",
        "c1",
    )
    assert event.to_wire() == wire


def test_optional_fields_are_left_out_and_snake_case_is_accepted() -> None:
    event = SkillExecute(run_id="r1", skill_name="seo-audit", user_message="m", user_id="u1")
    assert event.to_wire() == {"runId": "r1", "skillName": "seo-audit", "userMessage": "m", "userId": "u1"}


def test_to_event_carries_name_data_and_idempotency_id() -> None:
    sdk_event = SkillExecuteCompleted(run_id="r1", output_id="o1", s3_key="outputs/x.md").to_event(event_id="k")
    assert sdk_event.name == "skill.execute.completed"
    assert sdk_event.id == "k"
    assert dict(sdk_event.data) == {"runId": "r1", "outputId": "o1", "s3Key": "outputs/x.md"}


def test_failed_event_defaults_to_not_retryable() -> None:
    assert SkillExecuteFailed(run_id="r", error="boom").to_wire() == {
        "runId": "r",
        "error": "boom",
        "retryable": False,
    }


def test_unknown_fields_from_newer_producers_are_kept() -> None:
    event = FeedbackProcess.from_data({"feedbackId": "f", "skillName": "s", "source": "telegram"})
    assert event.to_wire()["source"] == "telegram"


def test_missing_required_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="userId"):
        SkillExecute.from_data({"runId": "r", "skillName": "s", "userMessage": "m"})
