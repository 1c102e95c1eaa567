"""Type stub of the native decoder (``_jsonscan.c``); called only by :mod:`sluice.runtime.jsonscan`."""

def decode(
    offsets: object,
    data: object,
    offset_width: int,
    start: int,
    count: int,
    fields: list[tuple[bytes, int]],
    /,
) -> tuple[list[tuple[bytes | None, bytes, bytes | None]], bytes]: ...
