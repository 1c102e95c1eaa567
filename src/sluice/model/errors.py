"""Typed errors of the flow domain, each carrying its BKData error code.

Every error a client can see is a :class:`FlowError` subclass with a seven-digit ``code``
(``1500xxx``, the form BKData actually emits) and a message in Chinese (the BKData msgid)
and English. The API layer renders it into the ``{result, code, message, data, errors}``
envelope in the language the request asks for; nothing else formats error text.

Raise these from ``model``, ``store`` and ``runtime``; never raise bare ``Exception`` for a
condition a client can cause.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "COMMA",
    "BadRequestError",
    "EnvironmentFault",
    "FlowDeployNotAllowed",
    "FlowError",
    "FlowExistCircleError",
    "FlowExistIsolatedNodesError",
    "FlowLockError",
    "FlowManageError",
    "FlowNotFoundError",
    "FlowTaskNotAllowed",
    "LinkRuleError",
    "Message",
    "NodeError",
    "NodeValidError",
    "NotFoundError",
    "ParamsError",
    "RelatedFlowRemoveError",
    "ResultTableNotFoundError",
    "RunningFlowRemoveError",
    "RunningLinkCreateError",
    "RunningLinkRemoveError",
    "RunningNodeRemoveError",
    "ValidError",
]


class Message:
    """A user-facing message in both languages BKData serves (``zh-hans`` and ``en``).

    ``zh`` is the BKData msgid; ``en`` its msgstr. Both may hold ``{name}`` placeholders,
    filled by :meth:`format`.
    """

    __slots__ = ("en", "zh")

    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en

    def format(self, **kwargs: Any) -> Message:
        """Return a copy with ``{name}`` placeholders filled in both languages."""
        return Message(self.zh.format(**kwargs), self.en.format(**kwargs))

    def get(self, lang: str) -> str:
        """Return the text for ``lang``: English for ``en*``, Chinese otherwise."""
        return self.en if lang.lower().startswith("en") else self.zh

    def __add__(self, other: Message | str) -> Message:
        if isinstance(other, str):
            return Message(self.zh + other, self.en + other)
        return Message(self.zh + other.zh, self.en + other.en)

    def __repr__(self) -> str:
        return f"Message({self.zh!r}, {self.en!r})"


COMMA = Message("，", ", ")
"""The separator between a label and its error text, in both languages."""


class FlowError(Exception):
    """Base of every error a client may see; ``code`` is the seven-digit BKData code.

    Args:
        message: the text, as a :class:`Message` (both languages) or a plain string used
            for both languages (e.g. a value echoed back).
        errors: optional structured details (the ``errors`` field of the envelope).
    """

    code: ClassVar[str] = "1500500"

    def __init__(self, message: Message | str, errors: Any = None) -> None:
        self.msg = message if isinstance(message, Message) else Message(message, message)
        self.errors = errors
        super().__init__(self.msg.en)

    def message(self, lang: str = "zh-hans") -> str:
        """Return the message in ``lang``."""
        return self.msg.get(lang)


class ParamsError(FlowError):
    """Request parameters failed validation (``params_valid``); ``errors`` has the details."""

    code = "1500001"


class NodeValidError(FlowError):
    """A node config failed its form: ``"<field label>，<error>"``."""

    code = "1500001"


class NodeError(FlowError):
    """A node operation cannot be done (missing RT, storage RT change, ...)."""

    code = "1500002"


class ValidError(FlowError):
    """A bad enum value (``consuming_mode``, ``action``, ``node_type``) or import format."""

    code = "1500004"


class FlowLockError(FlowError):
    """The flow is locked by another operation."""

    code = "1500006"


class FlowTaskNotAllowed(FlowError):
    """Start, stop or restart asked in a state that does not allow it."""

    code = "1500007"


class RunningNodeRemoveError(FlowError):
    """A running node cannot be deleted."""

    code = "1500010"


class RunningFlowRemoveError(FlowError):
    """A running flow cannot be deleted."""

    code = "1500011"


class RunningLinkRemoveError(FlowError):
    """A link between two running nodes cannot be removed."""

    code = "1500013"


class FlowExistCircleError(FlowError):
    """The graph has a cycle."""

    code = "1500017"


class RunningLinkCreateError(FlowError):
    """Two running nodes cannot be linked."""

    code = "1500018"


class EnvironmentFault(FlowError):
    """The deploy task could not be submitted."""

    code = "1500019"


class ResultTableNotFoundError(FlowError):
    """A result table named by the request does not exist."""

    code = "1500020"


class FlowManageError(FlowError):
    """Create-with-nodes or import failed; the message carries the detail."""

    code = "1500021"


class FlowExistIsolatedNodesError(FlowError):
    """Some nodes are cut off from every source."""

    code = "1500022"


class FlowDeployNotAllowed(FlowError):
    """The topology check before start failed, or restart has nothing to do."""

    code = "1500024"


class FlowNotFoundError(FlowError):
    """The flow id does not exist (BKData's ``FlowNotFoundError``)."""

    code = "1500027"


class LinkRuleError(FlowError):
    """A link violates the node link rules."""

    code = "1500032"


class RelatedFlowRemoveError(FlowError):
    """A result table is still used by a flow."""

    code = "1500033"


class BadRequestError(FlowError):
    """A DRF-style validation failure (``1500400``), e.g. a duplicate flow name."""

    code = "1500400"


class NotFoundError(FlowError):
    """A resource named in the URL does not exist (the intended 404 behaviour)."""

    code = "1500404"
