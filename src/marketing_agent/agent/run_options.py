"""A run's whole ``options`` object: the LLM options (:class:`SkillOptions`) plus what says where the output
goes and who hears about it.

One model, checked where a run is created (``POST /runs`` declares it, ``services.create_run`` validates
it for every caller), so a run is never failed later for options it was accepted with. The durable
function parses the stored object with the same model and hands only :meth:`RunOptions.llm` to the LLM.

Kept apart from :mod:`marketing_agent.agent.execute` on purpose: fields added to :class:`SkillOptions`
appear here by inheritance, and the delivery fields below never reach a provider.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

from marketing_agent.agent.execute import SkillOptions

__all__ = ["OUTPUT_TYPE_PATTERN", "RunOptions", "StoredRunOptions", "TelegramOrigin"]

#: ``outputType``: a lowercase slug, because it becomes part of the output's storage key.
OUTPUT_TYPE_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class TelegramOrigin(BaseModel):
    """The chat and "working on it" message of a run the bot started (``options.telegram``)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=False, validate_by_alias=True
    )

    chat_id: StrictInt | StrictStr = Field(description="Telegram chat id (or @channel name).")
    message_id: StrictInt = Field(ge=1, description="The message to edit with the result.")


class RunOptions(SkillOptions):
    """``options`` of ``POST /runs``: camelCase only, unknown fields refused (422 naming the field)."""

    # camelCase only on the wire: a snake_case field is refused like any other unknown one, as the schema says.
    model_config = ConfigDict(validate_by_name=False, validate_by_alias=True, populate_by_name=False)

    output_type: StrictStr | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=OUTPUT_TYPE_PATTERN,
        description="Names the output (e.g. `homepage`): it goes into the output's title and storage key.",
    )
    # The original design's bot sent its origin as two flat fields through the API. Safe to accept: a result
    # only goes to a chat linked to the run's own user (functions/adapters.py).
    telegram_chat_id: StrictInt | StrictStr | None = Field(
        None, description="Original bot's spelling of `telegram.chatId`."
    )
    telegram_message_id: StrictInt | None = Field(
        None, ge=1, description="Original bot's spelling of `telegram.messageId`."
    )

    def llm(self) -> SkillOptions:
        """Only the options the LLM call takes."""
        given = self.model_fields_set & SkillOptions.model_fields.keys()
        return SkillOptions.model_validate({name: getattr(self, name) for name in given})

    def telegram_origin(self) -> tuple[str | None, int | None]:
        """Chat and message to edit when the run ends."""
        if self.telegram_chat_id is not None and self.telegram_message_id is not None:
            return str(self.telegram_chat_id), self.telegram_message_id
        return None, None

    def to_wire(self) -> dict[str, Any]:
        """The object as stored on the run and sent in ``skill.execute``: camelCase, only the fields given."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class StoredRunOptions(RunOptions):
    """A run's options as the services store them and ``skill.execute`` carries them: what a caller may send
    plus what only the system sets — the bot's ``telegram`` origin (``services.create_run`` from the bot) and
    a workflow stage's ``workflow`` link (``services.workflows``)."""

    telegram: TelegramOrigin | None = Field(None, description="Set by the Telegram bot only: the message to edit.")
    workflow: dict[str, Any] | None = Field(None, description="Set by the workflow services: run and stage.")

    def telegram_origin(self) -> tuple[str | None, int | None]:
        """Chat and message to edit when the run ends, from either spelling (the bot's own wins)."""
        if self.telegram is not None:
            return str(self.telegram.chat_id), self.telegram.message_id
        return super().telegram_origin()
