"""Type stub of the native string cutter (``_strcut.c``); called only by :mod:`sluice.pipeline.strcut`."""

def cut(
    offsets: object,
    data: object,
    validity: object | None,
    start: int,
    length: int,
    separator: bytes,
    count: int,
    /,
) -> list[tuple[bytes | None, bytes, bytes]]: ...
