"""Cut string columns at a separator in one native pass (grok's segmented matcher uses it).

:func:`split_parts` gives what ``pc.split_pattern(strings, sep, max_splits=count)`` followed by
:func:`sluice.pipeline.batch.list_item` for each item gives, without the intermediate list
array: the C cutter (``_strcut.c``) finds the separators with ``memchr``/``memmem`` and
copies each part once, with the GIL released. The property tests in
``tests/pipeline/test_pipeline_strcut.py`` check it against the kernels on arbitrary columns.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline import _strcut
from sluice.pipeline.batch import list_item

__all__ = ["split_parts"]


def split_parts(strings: pa.Array, separator: str, count: int) -> list[pa.Array]:
    """Parts ``0 .. count`` of each row: the text before each of the first ``count``
    occurrences of ``separator``, then the rest after the last of them (a part the row does
    not have, and every part of a null row, is null).

    A ``string`` column is cut natively; other types (``large_string``) and an empty
    separator go through the Arrow kernels, with the same result.

    Raises:
        ValueError: ``count`` below 1.
    """
    if count < 1:
        raise ValueError(f"split_parts needs count >= 1, got {count}")
    if strings.type != pa.string() or not separator or count > 1024:
        lists = pc.split_pattern(strings, separator, max_splits=count)
        return [list_item(lists, m) for m in range(count + 1)]
    buffers = strings.buffers()
    data = buffers[2] if buffers[2] is not None else pa.py_buffer(b"")
    validity = buffers[0] if strings.null_count else None
    parts = _strcut.cut(
        buffers[1], data, validity, strings.offset, len(strings), separator.encode(), count
    )
    return [
        pa.Array.from_buffers(
            pa.string(),
            len(strings),
            [
                None if bits is None else pa.py_buffer(bits),
                pa.py_buffer(offsets),
                pa.py_buffer(chars),
            ],
        )
        for bits, offsets, chars in parts
    ]
