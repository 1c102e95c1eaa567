"""The native JSON decoder's Python side: a batch of JSON-object values to an Arrow table.

:func:`scan` is the record codec's first reader (:mod:`sluice.runtime.records` calls it for
every batch whose schema :func:`supports`). It hands the values' Arrow buffers to the C
decoder (``_jsonscan.c``), which reads each value in one strict pass with the GIL released
and writes the schema's columns straight into Arrow buffers, wrapped here without a copy.

The C decoder decodes only the values it is sure of: complete, valid JSON objects whose
schema fields hold null or a value of exactly the field's JSON kind (a string for
``string``, an integer in range for ``int``/``long``, a finite number for
``float``/``double``, ``true``/``false`` for ``boolean``); fields not in the schema are
validated and skipped. Anything else (a conversion such as ``"12"`` into a ``long``, a key
given twice, an escaped key, NaN, a control character, a lone surrogate, deep nesting,
invalid JSON) is returned as *unsure*, and the codec reads those values with its general
readers, whose rules then apply. So a sure row is exactly what the general reader gives
for it (the property tests in ``tests/runtime_jsonscan/test_runtime_jsonscan.py`` check this on
arbitrary values), and the native pass only ever makes decoding faster.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sluice.runtime import _jsonscan

__all__ = ["scan", "supports"]

_KINDS: dict[pa.DataType, int] = {
    pa.string(): 0,
    pa.int64(): 1,
    pa.int32(): 2,
    pa.float64(): 3,
    pa.float32(): 4,
    pa.bool_(): 5,
}
"""Arrow type -> the C decoder's field kind."""

_MAX_BYTES = 2**31 - 1
"""Most value bytes in one call: every string column then fits 32-bit offsets."""


def supports(schema: pa.Schema) -> bool:
    """Whether every field of ``schema`` has a type the C decoder writes (at most 256)."""
    return len(schema) <= 256 and all(field.type in _KINDS for field in schema)


def scan(values: pa.Array, schema: pa.Schema) -> tuple[pa.Table, pa.Array | None]:
    """Decode the sure values of ``values`` (``binary`` or ``large_binary``, no nulls).

    The values must be valid UTF-8 (the codec checks that first, in one validating cast):
    string bytes are copied as they are.

    Returns ``(table, unsure)``: the sure values' rows in input order with ``schema``, and
    the positions (``int64``, ascending) of the values left for the general readers, or
    ``None`` when every value was decoded.

    Raises:
        ValueError: ``schema`` is not :func:`supports`-ed, or ``values`` has nulls.
        MemoryError: out of memory.

    Values of more than 2 GiB in all are all left unsure (a string column could then
    outgrow Arrow's 32-bit offsets); the codec's batches are far smaller.
    """
    if not supports(schema):
        raise ValueError(f"the native JSON decoder does not support the schema {schema}")
    if values.null_count:
        raise ValueError("the native JSON decoder takes values without nulls")
    if (pc.sum(pc.binary_length(values)).as_py() or 0) >= _MAX_BYTES:
        return schema.empty_table(), pa.array(range(len(values)), pa.int64())
    width = 8 if pa.types.is_large_binary(values.type) else 4
    fields = [(field.name.encode(), _KINDS[field.type]) for field in schema]
    buffers = values.buffers()
    data = buffers[2] if buffers[2] is not None else pa.py_buffer(b"")
    columns, unsure_bytes = _jsonscan.decode(
        buffers[1], data, width, values.offset, len(values), fields
    )
    unsure_count = len(unsure_bytes) // 8
    rows = len(values) - unsure_count
    arrays = [
        _array(field.type, rows, validity, values_buffer, chars)
        for field, (validity, values_buffer, chars) in zip(schema, columns, strict=True)
    ]
    table = pa.Table.from_arrays(arrays, schema=schema)
    if unsure_count == 0:
        return table, None
    unsure = pa.Array.from_buffers(pa.int64(), unsure_count, [None, pa.py_buffer(unsure_bytes)])
    return table, unsure


def _array(
    arrow_type: pa.DataType,
    rows: int,
    validity: bytes | None,
    values: bytes,
    chars: bytes | None,
) -> pa.Array:
    bitmap = None if validity is None else pa.py_buffer(validity)
    buffers = [bitmap, pa.py_buffer(values)]
    if chars is not None:
        buffers.append(pa.py_buffer(chars))
    return pa.Array.from_buffers(arrow_type, rows, buffers)
