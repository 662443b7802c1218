"""The app database: models, sessions and migrations. Only ``db`` and ``services`` touch SQL for app data."""

from marketing_agent.db.enums import AlertKind, ChannelKind, FeedbackSource, SkillHealth, SkillRunStatus
from marketing_agent.db.migrate import current_revision, upgrade_database
from marketing_agent.db.models import Base
from marketing_agent.db.session import Database, normalize_database_url

__all__ = [
    "AlertKind",
    "Base",
    "ChannelKind",
    "Database",
    "FeedbackSource",
    "SkillHealth",
    "SkillRunStatus",
    "current_revision",
    "normalize_database_url",
    "upgrade_database",
]
