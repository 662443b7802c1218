"""The durable functions (Inngest SDK).

skill-execute, feedback-process, notify-completion, monitor-executions, and (with ``FunctionDeps.workflows``)
workflow-run, schedule-tick and schedule-fire (``docs/workflows.md``).

Thin by design: each step is one call into the services, the agent, storage or notify; step ids are
stable; idempotency comes from run ids. See ``docs/functions.md``.
"""

from marketing_agent.functions.deps import (
    AlertRecord,
    ChannelTarget,
    FunctionDeps,
    Notifications,
    RunNotice,
    RunServices,
    RunUsage,
    SectionWriter,
    SkillExecutor,
    SkillOutcome,
)
from marketing_agent.functions.events import (
    FEEDBACK_PROCESS,
    SKILL_EXECUTE,
    SKILL_EXECUTE_COMPLETED,
    SKILL_EXECUTE_FAILED,
    FeedbackProcess,
    SkillExecute,
    SkillExecuteCompleted,
    SkillExecuteFailed,
)
from marketing_agent.functions.registry import SERVE_PATH, build_functions, serve_functions
from marketing_agent.functions.wiring import FunctionsMount, build_function_deps, close_inngest_client

__all__ = [
    "FEEDBACK_PROCESS",
    "SERVE_PATH",
    "SKILL_EXECUTE",
    "SKILL_EXECUTE_COMPLETED",
    "SKILL_EXECUTE_FAILED",
    "AlertRecord",
    "ChannelTarget",
    "FeedbackProcess",
    "FunctionDeps",
    "FunctionsMount",
    "Notifications",
    "RunNotice",
    "RunServices",
    "RunUsage",
    "SectionWriter",
    "SkillExecute",
    "SkillExecuteCompleted",
    "SkillExecuteFailed",
    "SkillExecutor",
    "SkillOutcome",
    "build_function_deps",
    "build_functions",
    "close_inngest_client",
    "serve_functions",
]
