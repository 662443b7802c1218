"""Service records → wire models."""

from __future__ import annotations

from marketing_agent.agent.detect import Detection
from marketing_agent.api import schemas as s
from marketing_agent.services import Channel, Client, Feedback, Output, SkillInfo, SkillMetrics, SkillRun


def skill_summary(skill: SkillInfo) -> s.SkillSummaryOut:
    return s.SkillSummaryOut(
        name=skill.name,
        description=skill.description,
        type=skill.type,
        category=skill.category,
        trigger_keywords=skill.trigger_keywords,
        related_skills=skill.related_skills,
    )


def skill_detail(skill: SkillInfo) -> s.SkillOut:
    return s.SkillOut(
        **skill_summary(skill).model_dump(),
        has_rules=skill.has_rules,
        has_subdirectories=skill.has_subdirectories,
    )


def skill_metrics(m: SkillMetrics) -> s.SkillMetricsOut:
    return s.SkillMetricsOut(
        skill_name=m.skill_name,
        feedback_count=m.feedback_count,
        average_overall_score=m.average_overall,
        average_accuracy_score=m.average_accuracy,
        average_quality_score=m.average_quality,
        average_usefulness_score=m.average_usefulness,
        average_rule_compliance_score=m.average_rule_compliance,
        recent_average_score=m.recent_average,
        runs_completed=m.runs_completed,
        runs_failed=m.runs_failed,
        average_tokens_input=m.average_tokens_input,
        average_tokens_output=m.average_tokens_output,
        average_cost_usd=m.average_cost_usd,
        last_feedback_at=m.last_feedback_at,
        health=m.health.value,
    )


def client(c: Client) -> s.ClientOut:
    return s.ClientOut(
        id=c.id,
        name=c.name,
        slug=c.slug,
        description=c.description,
        s3_prefix=c.storage_prefix,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def run(r: SkillRun) -> s.RunOut:
    output = (
        s.RunOutputOut(id=r.output.id, title=r.output.title, preview=r.output.preview, format=r.output.format)
        if r.output is not None
        else None
    )
    return s.RunOut(
        id=r.id,
        status=r.status.value,
        skill=r.skill_name,
        client_id=r.client_id,
        message=r.message,
        queued_at=r.queued_at,
        started_at=r.started_at,
        completed_at=r.completed_at,
        tokens_input=r.tokens_input,
        tokens_output=r.tokens_output,
        cost_usd=r.cost_usd,
        model=r.model,
        error_message=r.error_message,
        warnings=r.warnings,
        engine_run_id=r.engine_run_id,
        output=output,
        turns=[s.RunTurnOut.model_validate(t) for t in (r.agent_trace or {}).get("turns", [])],
        tool_calls=[s.RunToolCallOut.model_validate(c) for c in (r.agent_trace or {}).get("tool_calls", [])],
    )


def run_item(r: SkillRun) -> s.RunListItemOut:
    return s.RunListItemOut(
        id=r.id,
        status=r.status.value,
        skill=r.skill_name,
        client_id=r.client_id,
        message=r.message,
        queued_at=r.queued_at,
        started_at=r.started_at,
        completed_at=r.completed_at,
        has_output=r.output is not None,
    )


def output(o: Output) -> s.OutputOut:
    return s.OutputOut(
        id=o.id,
        run_id=o.run_id,
        skill_name=o.skill_name,
        client_id=o.client_id,
        title=o.title,
        preview=o.preview,
        format=o.format,
        size_bytes=o.size_bytes,
        s3_key=o.storage_key,
        created_at=o.created_at,
    )


def feedback(f: Feedback) -> s.FeedbackOut:
    return s.FeedbackOut(
        id=f.id,
        output_id=f.output_id,
        skill_name=f.skill_name,
        overall_score=f.overall_score,
        accuracy_score=f.accuracy_score,
        quality_score=f.quality_score,
        usefulness_score=f.usefulness_score,
        rule_compliance_score=f.rule_compliance_score,
        what_worked_well=f.what_worked_well,
        issues=[
            s.FeedbackIssueOut(description=i.description, severity=i.severity, suggested_fix=i.suggested_fix)
            for i in f.issues
        ],
        comment=f.comment,
        source=f.source,
        created_at=f.created_at,
    )


def channel(c: Channel) -> s.ChannelOut:
    return s.ChannelOut(id=c.id, channel=c.channel, address=c.address, enabled=c.enabled, created_at=c.created_at)


def detection(d: Detection) -> s.DetectionOut:
    return s.DetectionOut(
        skill=d.skill,
        method=d.method,
        confidence=d.confidence,
        candidates=[s.SkillCandidateOut(skill=c.skill, score=c.score) for c in d.candidates],
        client_id=d.client_id,
        output_type=d.output_type,
    )
