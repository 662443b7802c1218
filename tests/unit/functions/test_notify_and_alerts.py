"""notify-completion, feedback-process and monitor-executions with the mocked runner."""

from __future__ import annotations

from inngest.experimental import mocked

from marketing_agent.functions import AlertRecord, ChannelTarget
from support.function_fakes import FakeRun, Harness, rejected, transient

TELEGRAM = ChannelTarget(id="ch-tg", channel="telegram", label="telegram:42")
SLACK = ChannelTarget(id="ch-slack", channel="slack", label="slack:hooks.example")
EMAIL = ChannelTarget(id="ch-mail", channel="email", label="email:ann@example.com")
ALERT_LOG = ChannelTarget(id="0", channel="log", label="log")
ALERT_SLACK = ChannelTarget(id="1", channel="slack", label="slack:alerts.example")


def completed_run(h: Harness, **extra: object) -> None:
    h.services.runs["r1"] = FakeRun(user_id="u1", skill_name="copywriting", status="completed", **extra)  # type: ignore[arg-type]
    h.services.outputs["r1"] = {"id": "o1", "key": "k", "title": "Homepage copy", "content": "# Hi"}


def test_completion_goes_to_every_channel_in_its_own_step(harness: Harness) -> None:
    completed_run(harness)
    harness.services.channels["u1"] = [TELEGRAM, SLACK, EMAIL]
    result = harness.trigger(
        "notify-completion", "skill.execute.completed", {"runId": "r1", "outputId": "o1", "s3Key": "k"}
    )
    assert result.status is mocked.Status.COMPLETED, result.error
    assert harness.notifications.sent == [
        ("completed:r1", "telegram:42"),
        ("completed:r1", "slack:hooks.example"),
        ("completed:r1", "email:ann@example.com"),
    ]
    assert result.output["sent"] == ["telegram:42", "slack:hooks.example", "email:ann@example.com"]


def test_a_failing_channel_is_retried_alone(harness: Harness) -> None:
    completed_run(harness)
    harness.services.channels["u1"] = [TELEGRAM, SLACK, EMAIL]
    harness.notifications.failures["slack:hooks.example"] = [transient(), transient()]
    result = harness.trigger(
        "notify-completion", "skill.execute.completed", {"runId": "r1", "outputId": "o1", "s3Key": "k"}
    )
    assert result.status is mocked.Status.COMPLETED
    attempts = harness.notifications.attempts
    assert attempts.count("slack:hooks.example") == 3
    assert attempts.count("telegram:42") == 1  # never re-sent while Slack was retried
    assert attempts.count("email:ann@example.com") == 1


def test_a_refused_channel_does_not_stop_the_others(harness: Harness) -> None:
    completed_run(harness)
    harness.services.channels["u1"] = [TELEGRAM, EMAIL]
    harness.notifications.failures["telegram:42"] = [rejected("chat not found")]
    result = harness.trigger(
        "notify-completion", "skill.execute.completed", {"runId": "r1", "outputId": "o1", "s3Key": "k"}
    )
    assert result.output["rejected"] == {"telegram:42": "chat not found"}
    assert result.output["sent"] == ["email:ann@example.com"]
    assert harness.notifications.attempts.count("telegram:42") == 1  # a refusal is not retried


def test_failure_notice_is_sent_for_failed_runs(harness: Harness) -> None:
    harness.services.runs["r1"] = FakeRun(user_id="u1", skill_name="copywriting", status="failed", error="boom")
    harness.services.channels["u1"] = [EMAIL]
    result = harness.trigger(
        "notify-completion", "skill.execute.failed", {"runId": "r1", "error": "boom", "retryable": False}
    )
    assert result.output["status"] == "failed"
    assert harness.notifications.sent == [("failed:r1", "email:ann@example.com")]


def test_bot_runs_edit_the_origin_message_instead_of_a_second_message(harness: Harness) -> None:
    completed_run(harness, telegram_chat_id="42", telegram_message_id=7)
    harness.services.channels["u1"] = [TELEGRAM, SLACK]
    result = harness.trigger(
        "notify-completion", "skill.execute.completed", {"runId": "r1", "outputId": "o1", "s3Key": "k"}
    )
    assert result.output["fromBot"] is True
    assert harness.notifications.sent == [("edit:r1", "telegram:42"), ("completed:r1", "slack:hooks.example")]


def test_unknown_run_ends_without_notifying(harness: Harness) -> None:
    result = harness.trigger("notify-completion", "skill.execute.completed", {"runId": "gone"})
    assert result.status is mocked.Status.COMPLETED
    assert result.output == {"runId": "gone", "notified": []}
    assert harness.notifications.sent == []


def test_low_feedback_alert_is_delivered_to_each_alert_channel(harness: Harness) -> None:
    alert = AlertRecord(id="a1", kind="skill-health", title="copywriting is low", message="avg 2.1/5")
    harness.services.feedback_alerts["f1"] = alert
    harness.notifications.alert_channels = [ALERT_LOG, ALERT_SLACK]
    result = harness.trigger("feedback-process", "feedback.process", {"feedbackId": "f1", "skillName": "copywriting"})
    assert result.status is mocked.Status.COMPLETED, result.error
    assert result.output["alert"] == "a1"
    assert harness.notifications.sent == [("alert:a1", "log"), ("alert:a1", "slack:alerts.example")]


def test_an_error_while_recording_a_delivery_never_sends_twice(harness: Harness) -> None:
    # Issue 17: the send and the delivered_channels mark shared a step, so a database error after the send
    # retried the step — and sent the alert again.
    alert = AlertRecord(id="a1", kind="skill-health", title="copywriting is low", message="avg 2.1/5")
    harness.services.feedback_alerts["f1"] = alert
    harness.notifications.alert_channels = [ALERT_SLACK]
    harness.notifications.mark_failures = [RuntimeError("database restarted"), RuntimeError("again")]
    result = harness.trigger("feedback-process", "feedback.process", {"feedbackId": "f1", "skillName": "copywriting"})
    assert result.status is mocked.Status.COMPLETED, result.error
    assert harness.notifications.sent == [("alert:a1", "slack:alerts.example")]
    assert harness.notifications.delivered == [("a1", "slack:alerts.example")]


def test_feedback_without_new_alert_delivers_nothing(harness: Harness) -> None:
    harness.services.feedback_alerts["f1"] = None
    harness.notifications.alert_channels = [ALERT_LOG]
    result = harness.trigger("feedback-process", "feedback.process", {"feedbackId": "f1", "skillName": "copywriting"})
    assert result.output == {"feedbackId": "f1", "alert": None}
    assert harness.notifications.sent == []
    assert harness.services.calls == [("process_feedback", "f1")]


def test_missing_feedback_is_not_retried(harness: Harness) -> None:
    result = harness.trigger("feedback-process", "feedback.process", {"feedbackId": "nope", "skillName": "x"})
    assert result.status is mocked.Status.COMPLETED
    assert "not found" in result.output["error"]
    assert harness.services.calls == [("process_feedback", "nope")]


def test_each_stuck_run_alert_is_delivered_once(harness: Harness) -> None:
    harness.services.stuck_alerts = [
        AlertRecord(id="s1", kind="stuck-run", title="run r1 stuck", message="m", links=("http://api/api/v1/runs/r1",)),
        AlertRecord(id="s2", kind="stuck-run", title="run r2 stuck", message="m", links=("http://api/api/v1/runs/r2",)),
    ]
    harness.notifications.alert_channels = [ALERT_SLACK]
    result = harness.trigger("monitor-executions", "inngest/scheduled.timer", {"cron": "*/5 * * * *"})
    assert result.status is mocked.Status.COMPLETED, result.error
    assert result.output == {"stuckRunAlerts": ["s1", "s2"]}
    assert harness.notifications.sent == [
        ("alert:s1", "slack:alerts.example"),
        ("alert:s2", "slack:alerts.example"),
    ]
    assert harness.services.calls == [("record_stuck_run_alerts", 300)]
    # The next tick finds no new alert (the services record one per stuck run): nothing is sent again.
    again = harness.trigger("monitor-executions", "inngest/scheduled.timer", {"cron": "*/5 * * * *"})
    assert again.output == {"stuckRunAlerts": []}
    assert len(harness.notifications.sent) == 2


def test_cron_and_retries_are_registered(harness: Harness) -> None:
    def config(fn_id: str) -> dict[str, object]:
        main = harness.functions[fn_id].get_config("http://app/api/inngest").main
        return main.model_dump(mode="json", by_alias=True, exclude_none=True)

    assert config("monitor-executions")["triggers"] == [{"cron": "*/5 * * * *"}]
    assert config("feedback-process")["steps"]["step"]["retries"] == {"attempts": 2}  # type: ignore[index]
    assert config("notify-completion")["triggers"] == [
        {"event": "skill.execute.completed"},
        {"event": "skill.execute.failed"},
    ]


def test_cancelled_runs_are_not_notified(harness: Harness) -> None:
    harness.services.runs["r1"] = FakeRun(user_id="u1", skill_name="copywriting", status="cancelled")
    harness.services.channels["u1"] = [EMAIL]
    result = harness.trigger("notify-completion", "skill.execute.failed", {"runId": "r1", "error": "x"})
    assert result.output == {"runId": "r1", "status": "cancelled", "notified": []}
    assert harness.notifications.sent == []


def test_a_refused_origin_edit_does_not_stop_the_other_channels(harness: Harness) -> None:
    completed_run(harness, telegram_chat_id="42", telegram_message_id=7)
    harness.services.channels["u1"] = [SLACK]
    harness.notifications.failures["telegram-origin"] = [rejected("bot was blocked by the user")]
    result = harness.trigger(
        "notify-completion", "skill.execute.completed", {"runId": "r1", "outputId": "o1", "s3Key": "k"}
    )
    assert result.output["origin"]["rejected"] == {"telegram:42": "bot was blocked by the user"}
    assert result.output["sent"] == ["slack:hooks.example"]
