"""The functions' adapters over the real services and notify channels, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from marketing_agent.errors import ClientNotFound, NotificationRejected, ValidationFailed
from marketing_agent.functions import ChannelTarget, RunNotice, SkillOutcome
from marketing_agent.functions.adapters import ChannelNotifications, DatabaseRunServices
from marketing_agent.notify import ChannelKind, MemoryNotifier, NotificationKind, NotifierRegistry
from marketing_agent.services import (
    Database,
    InMemoryEventSender,
    InMemoryRunCanceller,
    User,
    add_channel,
    cancel_run,
    create_client,
    create_feedback,
    create_run,
    create_user,
    get_skill_run,
    link_telegram_chat,
    list_alerts,
    user_for_telegram_chat,
)
from marketing_agent.settings import Settings

API = "http://api.test"


def settings(**overrides: object) -> Settings:
    return Settings(public_api_url=API, _env_file=None, **overrides)  # type: ignore[call-arg]


async def new_run(db: Database, user: User, **kwargs: object) -> str:
    run = await create_run(db, InMemoryEventSender(), user.id, skill_name="copywriting", message="Go", **kwargs)  # type: ignore[arg-type]
    return str(run.id)


OUTCOME = SkillOutcome(
    output="# Title\n\nBody",
    title="Title",
    tokens_in=10,
    tokens_out=5,
    cost_usd=0.5,
    model="m",
    warnings=("w",),
)


async def test_run_lifecycle_through_the_adapter(db: Database, user: User) -> None:
    services = DatabaseRunServices(db, settings())
    run_id = await new_run(db, user)

    assert await services.mark_run_running(run_id, "01ENGINERUN") is True
    first = await services.record_output(
        run_id, key="outputs/a.md", title="T", content="x" * 600, output_format="markdown"
    )
    again = await services.record_output(
        run_id, key="outputs/a.md", title="T", content="x" * 600, output_format="markdown"
    )
    assert first == again
    await services.mark_run_completed(run_id, OUTCOME)

    run = await get_skill_run(db, uuid.UUID(run_id))
    assert run.engine_run_id == "01ENGINERUN"
    assert (run.status.value, run.tokens_input, run.tokens_output, run.cost_usd, run.model, run.warnings) == (
        "completed",
        10,
        5,
        0.5,
        "m",
        ["w"],
    )
    assert run.output is not None
    assert len(run.output.preview) == 500
    # A finished run is not runnable again (a duplicate event must not resurrect it).
    assert await services.mark_run_running(run_id, "01OTHER") is False


async def test_a_running_run_belongs_to_the_function_run_that_claimed_it(db: Database, user: User) -> None:
    # Issue 17: a second skill.execute for the same runId (another event id) went ahead while the run was
    # running, so the LLM was called (and paid) twice.
    services = DatabaseRunServices(db, settings())
    run_id = await new_run(db, user)
    assert await services.mark_run_running(run_id, "01FIRST") is True
    assert await services.mark_run_running(run_id, "01SECOND") is False  # the duplicate is a no-op
    assert await services.mark_run_running(run_id, "01FIRST") is True  # the claimant's retry goes on
    run = await get_skill_run(db, uuid.UUID(run_id))
    assert (run.status.value, run.engine_run_id) == ("running", "01FIRST")


async def test_a_run_cancelled_while_the_llm_worked_gets_no_output(db: Database, user: User) -> None:
    # Issue 17: the output row was recorded for a run its user had cancelled mid-step.
    services = DatabaseRunServices(db, settings())
    run_id = await new_run(db, user)
    assert await services.mark_run_running(run_id, "01FIRST") is True
    await cancel_run(db, InMemoryRunCanceller(), user.id, uuid.UUID(run_id))
    output = await services.record_output(run_id, key="outputs/x.md", title="T", content="x", output_format="markdown")
    assert output is None
    run = await get_skill_run(db, uuid.UUID(run_id))
    assert (run.status.value, run.output) == ("cancelled", None)


async def test_notices_name_the_client(db: Database, user: User) -> None:
    # Issue 17: the notification's client field was never filled.
    services = DatabaseRunServices(db, settings())
    client = await create_client(db, user.id, name="Acme Rockets", slug="acme")
    await add_channel(db, user.id, "email", "ada@example.com")
    run_id = await new_run(db, user, client_id=client.id)
    await services.mark_run_failed(run_id, "400 bad request")
    notice = await services.get_run_notice(run_id)
    assert notice.client == "Acme Rockets"
    email = MemoryNotifier()
    notifications = ChannelNotifications(settings(), db, NotifierRegistry({ChannelKind.EMAIL: email}))
    [target] = await services.list_user_channels(str(user.id))
    await notifications.send_run_notice(notice, target)
    [(message, _)] = email.sent
    assert message.fields["client"] == "Acme Rockets"
    assert (await services.get_run_notice(await new_run(db, user))).client is None


async def test_the_original_bots_telegram_fields_name_the_origin(db: Database, user: User) -> None:
    services = DatabaseRunServices(db, settings())
    await link_telegram_chat(db, user.id, 5)
    run_id = await new_run(db, user, options={"outputType": "homepage", "telegramChatId": 5, "telegramMessageId": 9})
    notice = await services.get_run_notice(run_id)
    assert (notice.telegram_chat_id, notice.telegram_message_id) == ("5", 9)
    # The flat spelling gets no more than the bot's own: a chat not linked to the run's user gets nothing.
    foreign = await new_run(db, user, options={"telegramChatId": 4711, "telegramMessageId": 1})
    assert (await services.get_run_notice(foreign)).telegram_chat_id is None


async def test_failed_run_is_not_runnable_and_keeps_its_error(db: Database, user: User) -> None:
    services = DatabaseRunServices(db, settings())
    run_id = await new_run(db, user)
    await services.mark_run_failed(run_id, "400 bad request")
    assert await services.mark_run_running(run_id, "x") is False
    notice = await services.get_run_notice(run_id)
    assert (notice.status, notice.error, notice.output_id) == ("failed", "400 bad request", None)


async def test_client_slug_and_missing_client(db: Database, user: User) -> None:
    services = DatabaseRunServices(db, settings())
    client = await create_client(db, user.id, name="Acme", slug="acme")
    assert await services.get_client_slug(str(client.id)) == client.storage_slug
    with pytest.raises(ClientNotFound):
        await services.get_client_slug(str(uuid.uuid4()))


async def test_notice_carries_output_and_telegram_origin(db: Database, user: User) -> None:
    services = DatabaseRunServices(db, settings())
    await link_telegram_chat(db, user.id, 42)  # the bot only starts runs from chats linked to their user
    run_id = await new_run(db, user, options={"telegram": {"chatId": 42, "messageId": 7}})
    await services.mark_run_running(run_id, "e")
    output_id = await services.record_output(
        run_id, key="outputs/b.md", title="Hello", content="Body", output_format="markdown"
    )
    await services.mark_run_completed(run_id, OUTCOME)
    notice = await services.get_run_notice(run_id)
    assert (notice.status, notice.title, notice.preview, notice.output_id) == (
        "completed",
        "Hello",
        "Body",
        output_id,
    )
    assert (notice.telegram_chat_id, notice.telegram_message_id) == ("42", 7)


async def test_a_chat_of_someone_else_gets_nothing(db: Database, user: User) -> None:
    """The attack: a run whose options name another user's chat (or a chat nobody linked)."""
    services = DatabaseRunServices(db, settings())
    victim = (await create_user(db, "victim@example.com")).user
    await link_telegram_chat(db, victim.id, 4711)
    for chat in (4711, 999):
        run_id = await new_run(db, user, options={"telegram": {"chatId": chat, "messageId": 1}})
        notice = await services.get_run_notice(run_id)
        assert (notice.telegram_chat_id, notice.telegram_message_id) == (None, None)
    with pytest.raises(ValidationFailed, match="/link"):
        await add_channel(db, user.id, "telegram", "4711")
    # One chat, one user: a later /link from the chat moves it, and the lookup names the newest owner.
    await link_telegram_chat(db, user.id, 4711)
    owner = await user_for_telegram_chat(db, 4711)
    assert owner is not None
    assert owner.id == user.id


async def test_channel_labels_never_show_webhook_urls(db: Database, user: User) -> None:
    await add_channel(db, user.id, "webhook", "https://hooks.example.com/secret-token", secret="k")
    await add_channel(db, user.id, "email", "ada@example.com")
    targets = await DatabaseRunServices(db, settings()).list_user_channels(str(user.id))
    assert [(t.channel, t.label) for t in targets] == [
        ("webhook", "webhook:hooks.example.com"),
        ("email", "email:ada@example.com"),
    ]


async def test_low_feedback_raises_one_alert_a_day(db: Database, user: User) -> None:
    services = DatabaseRunServices(db, settings())
    run_id = await new_run(db, user)
    output_id = await services.record_output(
        run_id, key="outputs/c.md", title="T", content="c", output_format="markdown"
    )
    other_run = await new_run(db, user)
    other_output = await services.record_output(
        other_run, key="outputs/d.md", title="T", content="d", output_format="markdown"
    )
    events = InMemoryEventSender()
    first = await create_feedback(db, events, user.id, output_id=uuid.UUID(output_id), overall_score=1)
    # One rating per user per output: the second is on another output.
    second = await create_feedback(db, events, user.id, output_id=uuid.UUID(other_output), overall_score=2)

    alert = await services.process_feedback(str(first.id), "01FEEDBACK")
    assert alert is not None
    assert alert.kind == "skill-health"
    assert "copywriting" in alert.title
    assert alert.links[-1] == f"{API}/api/v1/skills/copywriting/metrics"
    assert await services.process_feedback(str(second.id), "01SECOND") is None  # same skill, same day: no new alert
    # Issue 17: a retried step (the first attempt committed, then crashed before its result was stored) must
    # still get the alert its feedback raised, or nobody delivers it.
    retried = await services.process_feedback(str(first.id), "01FEEDBACK")
    assert retried is not None
    assert retried.id == alert.id
    # The same feedback processed by another function run (its rating changed) does not deliver it again.
    assert await services.process_feedback(str(first.id), "01LATER") is None


async def test_stuck_runs_alert_once_each_with_links(db: Database, user: User) -> None:
    services = DatabaseRunServices(db, settings())
    run_id = await new_run(db, user)
    await services.mark_run_running(run_id, "e")
    [alert] = await services.record_stuck_run_alerts(0, "01MONITOR")
    assert run_id in alert.title
    assert alert.links == (f"{API}/api/v1/runs/{run_id}",)
    # Issue 17: a retry (the step committed the alert, then crashed) got nothing, so nobody delivered it.
    # Until a channel has it, the function run that recorded it gets it back; another one (a concurrent tick)
    # does not, so it is never sent twice.
    [retried] = await services.record_stuck_run_alerts(0, "01MONITOR")
    assert retried.id == alert.id
    assert await services.record_stuck_run_alerts(0, "01OTHERTICK") == []
    assert len(await list_alerts(db)) == 1  # still one alert per stuck run
    registry = NotifierRegistry({ChannelKind.LOG: MemoryNotifier()})
    log = ChannelNotifications(settings(alert_channels="log"), db, registry)
    [target] = log.alert_targets()
    await log.mark_alert_delivered(alert, target)
    assert await services.record_stuck_run_alerts(0, "01MONITOR") == []  # delivered: nothing to send again


async def test_notifications_resolve_addresses_and_secrets_inside_the_send(db: Database, user: User) -> None:
    webhook, email = MemoryNotifier(), MemoryNotifier()
    registry = NotifierRegistry({ChannelKind.WEBHOOK: webhook, ChannelKind.EMAIL: email})
    notifications = ChannelNotifications(settings(), db, registry)
    channel = await add_channel(db, user.id, "webhook", "https://hooks.example.com/t", secret="hmac-key")
    notice = RunNotice(
        run_id="r1", user_id=str(user.id), skill_name="copywriting", status="completed",
        title="Homepage", preview="Preview", output_id="o1",
    )  # fmt: skip
    target = ChannelTarget(id=str(channel.id), channel="webhook", label="webhook:hooks.example.com")
    await notifications.send_run_notice(notice, target)
    [(message, address)] = webhook.sent
    assert (address.address, address.secret) == ("https://hooks.example.com/t", "hmac-key")
    assert message.kind is NotificationKind.RUN_COMPLETED
    assert message.link is not None
    assert message.link.startswith(f"{API}/api/v1/outputs/o1/content?expires=")  # signed: opens without a key
    assert "&signature=" in message.link

    gone = ChannelTarget(id=str(uuid.uuid4()), channel="email", label="email:x@example.com")
    with pytest.raises(NotificationRejected):
        await notifications.send_run_notice(notice, gone)


async def test_alert_targets_come_from_alert_channels_and_deliveries_are_recorded(db: Database, user: User) -> None:
    log, slack = MemoryNotifier(), MemoryNotifier()
    registry = NotifierRegistry({ChannelKind.LOG: log, ChannelKind.SLACK: slack})
    config = settings(alert_channels="log,slack:https://hooks.slack.test/T/B/x,bogus")
    notifications = ChannelNotifications(config, db, registry)
    targets = notifications.alert_targets()
    assert [(t.id, t.label) for t in targets] == [("0", "log"), ("1", "slack:hooks.slack.test")]

    services = DatabaseRunServices(db, config)
    run_id = await new_run(db, user)
    await services.mark_run_running(run_id, "e")
    [alert] = await services.record_stuck_run_alerts(0, "01MONITOR")
    for target in targets:
        await notifications.send_alert(alert, target)
        await notifications.mark_alert_delivered(alert, target)
    assert [m.title for m, _ in slack.sent] == [alert.title]
    assert f"{API}/api/v1/runs/{run_id}" in slack.sent[0][0].body
    [stored] = await list_alerts(db)
    assert stored.delivered_channels == ["log", "slack:hooks.slack.test"]
    # Issue 17: a send for a channel already marked (a retried step, a later function run) sends nothing.
    for target in targets:
        await notifications.send_alert(alert, target)
    assert (len(log.sent), len(slack.sent)) == (1, 1)


async def test_two_alert_channels_on_one_host_get_their_own_labels(db: Database) -> None:
    # Issue 17: both were "slack:hooks.slack.test", so they shared a step id and a delivered_channels mark.
    config = settings(alert_channels="slack:https://hooks.slack.test/T/B/one,slack:https://hooks.slack.test/T/B/two")
    notifications = ChannelNotifications(config, db, NotifierRegistry({ChannelKind.SLACK: MemoryNotifier()}))
    labels = [t.label for t in notifications.alert_targets()]
    assert labels == ["slack:hooks.slack.test", "slack:hooks.slack.test#2"]


async def test_a_replay_of_a_failed_run_is_a_new_attempt_on_the_same_row(db: Database, user: User) -> None:
    services = DatabaseRunServices(db, settings())
    run_id = await new_run(db, user)
    assert await services.mark_run_running(run_id, "01FIRST") is True
    assert await services.mark_run_failed(run_id, "overloaded") is True
    # The function run that failed it does not reopen it (a retried step of the same function run).
    assert await services.mark_run_running(run_id, "01FIRST") is False

    # A replay: another function run of the same event.
    assert await services.mark_run_running(run_id, "01REPLAY") is True
    run = await get_skill_run(db, uuid.UUID(run_id))
    assert (run.status.value, run.error_message, run.completed_at, run.engine_run_id) == (
        "running", None, None, "01REPLAY",
    )  # fmt: skip
    assert await services.mark_run_running(run_id, "01REPLAY") is True  # the step retried: same answer
    await services.record_output(run_id, key="outputs/r.md", title="T", content="x", output_format="markdown")
    assert await services.mark_run_completed(run_id, OUTCOME) is True
    # Completed and cancelled runs are never reopened.
    assert await services.mark_run_running(run_id, "01THIRD") is False
    assert (await get_skill_run(db, uuid.UUID(run_id))).engine_run_id == "01REPLAY"
