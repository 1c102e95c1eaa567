"""Java (``SimpleDateFormat``) date patterns, as BKSQL/Flink take them, to ``strftime``.

Only the letters realtime SQL uses are supported; anything else is an error naming the
letter, so a pattern never silently formats wrongly. Text in single quotes is literal.
"""

from __future__ import annotations

from sluice.model.errors import Message

__all__ = ["java_to_strftime"]

_LETTERS: dict[str, str] = {
    "yyyy": "%Y",
    "yy": "%y",
    "MM": "%m",
    "dd": "%d",
    "HH": "%H",
    "hh": "%I",
    "mm": "%M",
    "ss": "%S",
    "SSS": "%g",
    "a": "%p",
    "EEE": "%a",
    "EEEE": "%A",
    "MMM": "%b",
    "MMMM": "%B",
    "D": "%j",
    "DDD": "%j",
    "Z": "%z",
}


def java_to_strftime(pattern: str) -> str:
    """Translate a Java date pattern (``yyyy-MM-dd HH:mm:ss``) to ``strftime`` (DuckDB).

    Raises:
        FunctionArgumentError: a pattern letter run that has no ``strftime`` equivalent.
    """
    from sluice.sql.functions import FunctionArgumentError

    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            literal = pattern[i + 1 : end]
            out.append("'" if literal == "" else literal.replace("%", "%%"))
            i = end + 1
            continue
        if ch.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == ch:
                j += 1
            run = pattern[i:j]
            if run not in _LETTERS:
                raise FunctionArgumentError(
                    Message(
                        f"不支持的时间格式符号 `{run}`（{pattern}）",
                        f"unsupported date pattern letters `{run}` in `{pattern}`",
                    )
                )
            out.append(_LETTERS[run])
            i = j
            continue
        out.append("%%" if ch == "%" else ch)
        i += 1
    return "".join(out)
