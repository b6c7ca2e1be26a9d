"""Macro test cases (``macros:`` in ``rulebook/tests/*.yaml``): a macro rendered for a ticket.

Each case names a macro of ``macros.yml``, describes the ticket it is applied to (its fields,
customer, the values the customer gave and the entities of their messages) and what the agent's
click must do: the reply the customer would read, the actions, or the variables it lacks (the
macro is then refused and nothing is sent). Run by ``frontdesk rules test --all`` with the other
cases (:func:`rules.stories.run_any`); nothing is stored or sent.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from rules.macros import MacroContext, Macros, fill
from rules.schema import Priority, Status

__all__ = ["ExpectedMacro", "MacroCase", "MacroCustomer", "MacroTicket", "macro_failures"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MacroTicket(_Strict):
    reference: str = "T-1001"
    subject: str = ""
    status: Status = "open"
    priority: Priority = "normal"
    queue: str = "support"
    channel: str = "webchat"


class MacroCustomer(_Strict):
    name: str | None = None
    email: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


class ExpectedMacro(_Strict):
    reply_contains: list[str] | str | None = None  # case-insensitive, each
    reply_not_contains: list[str] | str | None = None
    status: Status | None = None  # the macro's actions, exactly (None: not checked)
    tags: list[str] | None = None
    priority: Priority | None = None
    missing: list[str] | None = None  # the variables it lacks: refused, nothing sent ([]: sent)


class MacroCase(_Strict):
    __test__ = False  # not a pytest class

    name: str
    macro: str
    ticket: MacroTicket = Field(default_factory=MacroTicket)
    customer: MacroCustomer = Field(default_factory=MacroCustomer)
    slots: dict[str, str] = Field(default_factory=dict)
    entities: dict[str, str] = Field(default_factory=dict)  # type → value, e.g. {order_ref: A-12345}
    agent: str | None = None  # the agent's display name
    expect: ExpectedMacro


def macro_failures(case: MacroCase, macros: Macros) -> list[str]:
    """What applying ``case.macro`` does differently from ``case.expect``."""
    macro = macros.get(case.macro)
    if macro is None:
        hint = macros.suggest(case.macro)
        return [f"no macro {case.macro!r} in macros.yml" + (f" (did you mean {hint!r}?)" if hint else "")]
    t = case.ticket
    filled = fill(
        macro,
        MacroContext(
            ticket=t.reference, subject=t.subject, status=t.status, priority=t.priority, queue=t.queue,
            channel=t.channel, customer_name=case.customer.name, customer_email=case.customer.email,
            attributes=case.customer.attributes, slots=case.slots, entities=tuple(case.entities.items()),
            agent_name=case.agent,
        ),
    )  # fmt: skip
    want = case.expect
    out: list[str] = []
    if want.missing is not None and list(filled.missing) != want.missing:
        out.append(f"expected missing variables {want.missing}, got {list(filled.missing)}")
    elif want.missing is None and filled.missing:
        out.append(f"the macro would be refused: no value for {', '.join(filled.missing)}")
    for text in _listed(want.reply_contains):
        if text.lower() not in filled.text.lower():
            out.append(f"expected a reply containing {text!r}, reply: {filled.text!r}")
    for text in _listed(want.reply_not_contains):
        if text.lower() in filled.text.lower():
            out.append(f"expected a reply without {text!r}, reply: {filled.text!r}")
    actions = macro.actions()
    actions.setdefault("tags", [])
    for key, wanted in (("status", want.status), ("priority", want.priority), ("tags", want.tags)):
        if wanted is not None and actions.get(key) != wanted:
            out.append(f"expected {key} {wanted!r}, the macro sets {actions.get(key)!r}")
    return out


def _listed(value: list[str] | str | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])
