"""Workflow definitions: the built-ins load, and every kind of mistake is refused with the file and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from marketing_agent.agent.skills import load_skill_catalog
from marketing_agent.errors import ValidationFailed, WorkflowInvalid
from marketing_agent.workflows import (
    Revision,
    StageOutput,
    compose_message,
    definition_from_json,
    load_workflow_catalog,
    parse_workflow_text,
)

SKILLS = {"positioning", "copywriting", "page-cro", "email-sequence"}

GOOD = """
name: launch
description: A launch.
review_timeout: 1h30m
inputs:
  - name: product
  - name: tone
    required: false
    default: plain
stages:
  - name: position
    skill: positioning
    approval: true
    message: Position {{ inputs.product }}.
  - name: copy
    skill: copywriting
    context: [position]
    message: Copy for {{ inputs.product }} in a {{ inputs.tone }} tone, after "{{ stages.position.title }}".
  - name: cro
    skill: page-cro
    after: [copy]
    message: Review it.
  - name: emails
    skill: email-sequence
    context: [position]
    message: Emails.
"""


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_workflow_text(text, "dir/launch.yaml", SKILLS)


async def test_the_four_built_in_workflows_load_against_the_built_in_skills() -> None:
    skills = await load_skill_catalog()
    catalog = await load_workflow_catalog(skills.names())
    assert catalog.errors == []
    assert {"landing-page-launch", "email-campaign", "content-batch", "competitor-teardown"} <= set(catalog.workflows)
    for definition in catalog.all():
        assert definition.skills <= set(skills.names())


def test_a_good_definition_orders_stages_and_finds_dependencies() -> None:
    d = parse(GOOD)
    assert d.review_timeout == timedelta(minutes=90)
    assert [s.name for s in d.stages] == ["position", "copy", "emails", "cro"]  # waves, declaration order
    assert d.stage("copy").depends_on == ("position",)  # type: ignore[union-attr]
    assert d.stage("cro").depends_on == ("copy",)  # type: ignore[union-attr]
    assert definition_from_json(d.to_json()).stages == d.stages
    assert d.resolve_inputs({"product": "Acme"}) == {"product": "Acme", "tone": "plain"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("skill: page-cro", "skill: page-crow"), "stages.cro.skill: unknown skill 'page-crow'"),
        (("after: [copy]", "after: [nope]"), "stages.cro.after: unknown stage 'nope'"),
        (("context: [position]\n    message: Copy", "context: [cro]\n    message: Copy"), "dependency cycle"),
        (("{{ inputs.tone }}", "{{ inputs.mood }}"), "missing input 'mood'"),
        (("{{ stages.position.title }}", "{{ stages.ghost.title }}"), "unknown stage 'ghost' in the template"),
        (("{{ inputs.tone }}", "{{ tone }}"), "unknown name 'tone'"),
        (("review_timeout: 1h30m", "review_timeout: soon"), "review_timeout: must be a duration"),
        (("approval: true", "approval: yes please"), "stages.position.approval: must be true or false"),
        (("name: launch", "name: Launch!"), "name: 'Launch!' must be lowercase"),
        (("    message: Emails.", "    message: Emails {{ inputs.product"), "template error"),
        (("  - name: tone", "  - name: product"), "input 'product' is declared twice"),
        (("stages:", "stage:"), "unknown field"),
    ],
)
def test_mistakes_are_refused_naming_the_file_and_field(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(WorkflowInvalid) as caught:
        parse(GOOD.replace(old, new, 1))
    assert expected in caught.value.message
    assert caught.value.message.startswith("dir/launch.yaml")


def test_the_file_name_must_be_the_workflow_name() -> None:
    with pytest.raises(WorkflowInvalid, match="must match the file name"):
        parse_workflow_text(GOOD, "dir/other.yaml", SKILLS)


def test_run_inputs_are_checked() -> None:
    d = parse(GOOD)
    with pytest.raises(ValidationFailed, match="missing input 'product'"):
        d.resolve_inputs({})
    with pytest.raises(ValidationFailed, match="unknown input 'colour'"):
        d.resolve_inputs({"product": "x", "colour": "red"})
    with pytest.raises(ValidationFailed, match="must be a string or a number"):
        d.resolve_inputs({"product": ["x"]})


def test_messages_carry_context_and_revision_notes() -> None:
    d = parse(GOOD)
    copy = d.stage("copy")
    assert copy is not None
    message = compose_message(
        copy,
        {"product": "Acme", "tone": "bold"},
        {"position": StageOutput("Acme is CI", "# Acme is CI\n\nFor teams.")},
        Revision(draft="Old draft", notes="Shorter, please."),
    )
    assert message.startswith('Copy for Acme in a bold tone, after "Acme is CI".')
    assert "For teams." in message
    assert "Old draft" in message
    assert "Shorter, please." in message


async def test_an_invalid_file_is_reported_and_the_others_still_load(tmp_path: Path) -> None:
    (tmp_path / "launch.yaml").write_text(GOOD)
    (tmp_path / "broken.yaml").write_text(GOOD.replace("name: launch", "name: broken").replace("page-cro", "nope"))
    (tmp_path / "notyaml.yaml").write_text("stages: [")
    catalog = await load_workflow_catalog(SKILLS, tmp_path)
    assert "launch" in catalog.workflows
    reasons = {e.path.rsplit("/", 1)[-1]: e.reason for e in catalog.errors}
    assert "unknown skill 'nope'" in reasons["broken.yaml"]
    assert "not valid YAML" in reasons["notyaml.yaml"]
