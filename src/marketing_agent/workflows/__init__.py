"""Workflows: chains of skills with human review, defined as YAML files (``docs/workflows.md``).

This package holds the definition format (records, validation, loading, message rendering); the durable
function that runs them is ``marketing_agent.functions.workflow_run`` and their state lives in the app
database (``services.workflows``).
"""

from marketing_agent.workflows.definition import (
    DEFAULT_REVIEW_TIMEOUT,
    MAX_REVISIONS,
    WorkflowDefinition,
    WorkflowInput,
    WorkflowStage,
    definition_from_json,
    parse_definition,
    parse_duration,
)
from marketing_agent.workflows.loader import (
    STORAGE_PREFIX,
    WorkflowCatalog,
    WorkflowLoadError,
    builtin_workflows_dir,
    load_workflow_catalog,
    parse_workflow_text,
)
from marketing_agent.workflows.render import Revision, StageOutput, compose_message

__all__ = [
    "DEFAULT_REVIEW_TIMEOUT",
    "MAX_REVISIONS",
    "STORAGE_PREFIX",
    "Revision",
    "StageOutput",
    "WorkflowCatalog",
    "WorkflowDefinition",
    "WorkflowInput",
    "WorkflowLoadError",
    "WorkflowStage",
    "builtin_workflows_dir",
    "compose_message",
    "definition_from_json",
    "load_workflow_catalog",
    "parse_definition",
    "parse_duration",
    "parse_workflow_text",
]
