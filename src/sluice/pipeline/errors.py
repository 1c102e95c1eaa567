"""The one error type of the pipeline language: :class:`ConfigError`.

Raised by the parser (syntax), the compiler (unknown plugins, settings and bad values) and
the kernels' compile steps (bad grok/dissect/kv patterns). It always carries the line and
column of the offending text (1-based) when one is known, and what was expected there.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A pipeline configuration is invalid.

    Attributes:
        reason: the message without its position prefix.
        line: 1-based line of the offending text (0 when no position applies).
        column: 1-based column (0 when no position applies).
        expected: what would have been valid at that point (token texts, plugin or setting
            names); empty when the error is not about a choice of tokens.

    ``str(error)`` reads ``line 3, column 14: expected one of '=>', '}' but found 'x'``.
    """

    def __init__(
        self, reason: str, line: int = 0, column: int = 0, expected: Sequence[str] = ()
    ) -> None:
        self.reason = reason
        self.line = line
        self.column = column
        self.expected = tuple(expected)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The full message, prefixed with ``line L, column C:`` when positioned."""
        if self.line:
            return f"line {self.line}, column {self.column}: {self.reason}"
        return self.reason

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, int, int, tuple[str, ...]]]:
        return (ConfigError, (self.reason, self.line, self.column, self.expected))
