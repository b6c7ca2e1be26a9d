"""The shape of ``rules.yml`` and ``calendars.yml``, as strict pydantic models.

Every model forbids unknown keys, so a typo is reported as ``file:line: ... unknown key 'intnet'
(did you mean 'intent'?)`` by :mod:`core.yamlfile`. Shorthands admins like to write
(``intent: greet``, ``entity: order_ref``, ``hand_off: true``) are expanded here, before the
semantic checks in :mod:`rules.loader` (closed sets the types cannot express, such as the
values of ticket ``status`` conditions, in :mod:`rules.values`). ``docs/rules.md`` documents
every key of every model reachable from :class:`RulesFile` and :class:`CalendarsFile`;
``tests/rules/test_docs.py`` keeps the two in step.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    model_validator,
)

from core.channels import CHANNELS
from core.yamlfile import one_of

__all__ = [
    "CHANNELS",
    "PRIORITIES",
    "SENTIMENTS",
    "STATUSES",
    "WEEKDAYS",
    "ActionSpec",
    "CalendarSpec",
    "CalendarsFile",
    "ConditionSpec",
    "RuleSpec",
    "RulesFile",
]

# The closed sets rules can name. Ticket statuses and priorities are ticketing.lifecycle's (tests
# keep them in step); the channels are the ones registered in core.channels when rules are loaded.
Channel = Annotated[str, PlainValidator(one_of(lambda: CHANNELS))]
Status = Literal["new", "open", "pending", "on-hold", "solved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
SentimentLabel = Literal["negative", "neutral", "positive"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
STATUSES: tuple[str, ...] = get_args(Status)
PRIORITIES: tuple[str, ...] = get_args(Priority)
SENTIMENTS: tuple[str, ...] = get_args(SentimentLabel)
WEEKDAYS: tuple[str, ...] = get_args(Weekday)


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else value


Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_][a-z0-9_-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Names = Annotated[list[Name], BeforeValidator(_listify), Field(min_length=1)]
Texts = Annotated[list[Text], BeforeValidator(_listify), Field(min_length=1)]
Words = Annotated[list[Text], BeforeValidator(_listify), Field(min_length=1)]
Tags = Annotated[
    list[Annotated[str, StringConstraints(pattern=r"^[\w:.-]+$", max_length=64)]], BeforeValidator(_listify)
]
LanguageKey = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")]
Variants = Texts | dict[LanguageKey, Texts]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _shorthand(key: str) -> Any:
    """A ``mode='before'`` validator turning a scalar or list into ``{key: value}``."""

    def expand(cls: type, value: Any) -> Any:
        return value if isinstance(value, dict) else {key: value}

    return model_validator(mode="before")(classmethod(expand))  # type: ignore[arg-type]


class Range(_Strict):
    min: float | None = None
    max: float | None = None


class IntentCond(_Strict):
    is_: Names | None = Field(None, alias="is")
    best_guess: bool = False
    min_confidence: float | None = Field(None, ge=0, le=1)
    max_confidence: float | None = Field(None, ge=0, le=1)
    _expand = _shorthand("is")


class SentimentCond(_Strict):
    label: Annotated[list[SentimentLabel], BeforeValidator(_listify)] | None = None
    min: float | None = Field(None, ge=-1, le=1)
    max: float | None = Field(None, ge=-1, le=1)
    _expand = _shorthand("label")


class ComplaintCond(_Strict):
    is_: bool = Field(True, alias="is")
    min_confidence: float | None = Field(None, ge=0, le=1)
    max_confidence: float | None = Field(None, ge=0, le=1)
    _expand = _shorthand("is")


class EntityCond(_Strict):
    type: Name
    equals: Texts | None = None
    matches: str | None = None
    _expand = _shorthand("type")


class FaqCond(_Strict):
    id: Names | None = None
    min_score: float | None = Field(None, ge=0, le=1)
    max_score: float | None = Field(None, ge=0, le=1)


class TextCond(_Strict):
    contains: Words | None = None
    regex: str | None = None
    case_sensitive: bool = False
    _expand = _shorthand("contains")


class AttributeCond(_Strict):
    name: Name
    equals: Texts | None = None
    present: bool | None = None


class CustomerCond(_Strict):
    tag: Tags | None = None
    attribute: AttributeCond | None = None
    first_contact: bool | None = None
    open_tickets: Range | None = None


class ConversationCond(_Strict):
    handed_off: bool | None = None
    turns: Range | None = None
    language: Names | None = None
    has_open_ticket: bool | None = None


class FieldCond(_Strict):
    is_: Names | None = Field(None, alias="is")
    changed: bool | None = None
    changed_from: Names | None = None
    changed_to: Names | None = None
    _expand = _shorthand("is")


class TicketCond(_Strict):
    status: FieldCond | None = None
    priority: FieldCond | None = None
    queue: FieldCond | None = None
    tag: Tags | None = None
    tag_added: Tags | None = None


class SlotCond(_Strict):
    name: Name
    present: bool | None = None
    equals: Texts | None = None
    matches: str | None = None
    _expand = _shorthand("name")


class TimeCond(_Strict):
    business_hours: Name | None = None
    outside_business_hours: Name | None = None
    weekday: Annotated[list[Weekday], BeforeValidator(_listify)] | None = None
    between: Annotated[str, StringConstraints(pattern=r"^\d\d:\d\d-\d\d:\d\d$")] | None = None
    timezone: str | None = None


class ConditionSpec(_Strict):
    all: list[ConditionSpec] | None = None
    any: list[ConditionSpec] | None = None
    not_: ConditionSpec | None = Field(None, alias="not")
    channel: Annotated[list[Channel], BeforeValidator(_listify), Field(min_length=1)] | None = None
    intent: IntentCond | None = None
    out_of_scope: bool | None = None
    sentiment: SentimentCond | None = None
    complaint: ComplaintCond | None = None
    entity: EntityCond | None = None
    faq: FaqCond | None = None
    text: TextCond | None = None
    customer: CustomerCond | None = None
    conversation: ConversationCond | None = None
    ticket: TicketCond | None = None
    time: TimeCond | None = None
    slot: SlotCond | None = None


class ButtonSpec(_Strict):
    label: Text | dict[LanguageKey, Text]  # per language: shown in the conversation's language
    payload: Text | None = None
    _expand = _shorthand("label")


class TextSpec(_Strict):
    """A text given inline or as a ``responses.yml`` key."""

    text: Variants | None = None
    response: Name | None = None
    _expand = _shorthand("text")

    @model_validator(mode="after")
    def _one_source(self) -> TextSpec:
        if (self.text is None) == (self.response is None):
            raise ValueError("give exactly one of 'text' or 'response'")
        return self


class ReplySpec(_Strict):
    text: Variants | None = None
    response: Name | None = None
    buttons: list[ButtonSpec] = Field(default_factory=list)
    existing_ticket: TextSpec | None = None  # said instead when the conversation already had a ticket
    _expand = _shorthand("text")

    @model_validator(mode="after")
    def _one_source(self) -> ReplySpec:
        if (self.text is None) == (self.response is None):
            raise ValueError("give exactly one of 'text' or 'response'")
        return self


class ClarifySpec(_Strict):
    text: Variants | None = None
    response: Name = "clarify"
    min_confidence: float = Field(0.2, ge=0, le=1)
    otherwise: ReplySpec | None = None  # said when no intent is worth offering (else: pass on)


class AnswerFaqSpec(_Strict):
    min_score: float | None = Field(None, ge=0, le=1)


class OpenTicketSpec(_Strict):
    subject: Text = "{message.first_line}"
    queue: Name = "support"
    priority: Priority = "normal"
    tags: Tags = Field(default_factory=list)


class TagSpec(_Strict):
    customer: Tags = Field(default_factory=list)
    ticket: Tags = Field(default_factory=list)
    _expand = _shorthand("customer")


class HandOffSpec(_Strict):
    note: str = ""


class NotifySpec(_Strict):
    slack: Annotated[str, StringConstraints(pattern=r"^#?[\w-]+$")]
    text: Text


class AskSpec(_Strict):
    slot: Name
    entity: Name | None = None
    pattern: str | None = None
    prompt: ReplySpec
    retry: ReplySpec | None = None
    give_up: ReplySpec | None = None
    cancelled: ReplySpec | None = None
    max_attempts: int = Field(3, ge=1, le=10)
    reuse: bool = True  # a value the conversation already has answers the question
    cancel_words: Words = Field(
        default_factory=lambda: ["cancel", "never mind", "nevermind", "forget it", "stop asking"]
    )
    keep_intents: Names | None = None

    @model_validator(mode="after")
    def _validated(self) -> AskSpec:
        if self.entity is None and self.pattern is None:
            raise ValueError("give 'entity', 'pattern' or both: how the answer is recognised")
        return self


class SetTicketSpec(_Strict):
    priority: Priority


def _flag(value: Any) -> Any:
    """``hand_off: true`` / ``answer_faq: true`` mean "with the defaults"."""
    if value is True or value is None:
        return {}
    return value


Flag = BeforeValidator(_flag)


class ActionSpec(_Strict):
    reply: ReplySpec | None = None
    answer_faq: Annotated[AnswerFaqSpec, Flag] | None = None
    clarify: Annotated[ClarifySpec, Flag] | None = None
    open_ticket: Annotated[OpenTicketSpec, Flag] | None = None
    add_note: Text | None = None
    tag: TagSpec | None = None
    untag: TagSpec | None = None
    set_attribute: dict[Name, str] | None = None
    hand_off: Annotated[HandOffSpec, Flag] | None = None
    close_conversation: Literal[True] | None = None
    notify: NotifySpec | None = None
    ask: AskSpec | None = None
    set_ticket: SetTicketSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ActionSpec:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"each action has exactly one kind, got {len(given)}"
                + (f" ({', '.join(given)}); put them in separate list items" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)


class RuleSpec(_Strict):
    name: Name
    description: str | None = None
    event: Literal["message", "ticket"] = "message"
    when: ConditionSpec | None = None
    then: list[ActionSpec] = Field(min_length=1)
    continue_: bool = Field(False, alias="continue")
    enabled: bool = True
    max_fires: int | None = Field(None, ge=1)


class LimitsSpec(_Strict):
    max_automated_replies: int = Field(30, ge=1)
    max_repeats: int = Field(3, ge=1)
    max_chain: int = Field(3, ge=1)
    limit_response: Name = "reply_limit"


class AcknowledgeSpec(_Strict):
    response: Name = "acknowledge"
    without_ticket: Name | None = None
    repeat: (
        Literal["every_message", "once_per_ticket"] | Annotated[str, StringConstraints(pattern=r"^\d+[mh]$")]
    ) = "15m"


class ClosingSpec(_Strict):
    """Messages that close the loop after a solve: answered with ``response``, never reopening."""

    intents: list[Name] = Field(default_factory=lambda: ["thanks", "goodbye"])
    response: Name = "closing"


class SettingsSpec(_Strict):
    default_language: Name = "en"
    timezone: str = "UTC"
    faq_threshold: float | None = Field(None, ge=0, le=1)
    intent_labels: dict[Name, Text] = Field(default_factory=dict)
    queue_labels: dict[Name, Text] = Field(default_factory=dict)
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    acknowledge: AcknowledgeSpec = Field(default_factory=AcknowledgeSpec)
    closing: ClosingSpec = Field(default_factory=ClosingSpec)


class RulesFile(_Strict):
    settings: SettingsSpec = Field(default_factory=SettingsSpec)
    rules: list[RuleSpec] = Field(default_factory=list)


class CalendarSpec(_Strict):
    timezone: str
    hours: dict[str, Annotated[list[str], BeforeValidator(_listify)]]
    closed: list[date] = Field(default_factory=list)


class CalendarsFile(_Strict):
    calendars: dict[Name, CalendarSpec]
