"""The ``json`` filter: parse a field holding JSON text into fields.

Logstash reference behaviour: the object in ``source`` is merged into the top level of the
event (or put under ``target``); an event without ``source`` is left alone (not "matched",
so the common options do not apply); text that is not JSON is tagged with
``tag_on_failure`` (``_jsonparsefailure``) unless ``skip_on_invalid_json``; JSON that is not
an object needs a ``target`` (else a failure).

How it runs: the rows are parsed with ``orjson`` one by one (C speed) and turned into Arrow
columns by one ``pa.array`` call. ``pyarrow.json`` is not used: it turns strings that look
like dates into timestamps, which would change the event.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.executor import Kernel
from sluice.pipeline.fields import add_tags, get, parse_ref, set_where
from sluice.pipeline.settings.common import PluginSettings
from sluice.plugins.filters._util import all_true, as_mask, is_stringish, objects_array

__all__ = ["json_kernel"]

_INVALID = object()


def _parse_rows(texts: list[str | None], want_objects: bool) -> tuple[list[Any], list[bool]]:
    values: list[Any] = []
    ok: list[bool] = []
    for text in texts:
        if text is None:
            values.append(None)
            ok.append(False)
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            values.append(None)
            ok.append(False)
            continue
        good = isinstance(value, dict) or not want_objects
        values.append(value if good else None)
        ok.append(good)
    return values, ok


def json_kernel(settings: PluginSettings) -> Kernel:
    """Build the json kernel; the failed mask marks rows not parsed (and absent sources)."""
    cfg: Any = settings
    source = parse_ref(str(cfg.source))
    target_name = cfg.target
    target = parse_ref(target_name) if target_name else None
    skip_invalid = bool(cfg.skip_on_invalid_json)
    tags = list(cfg.tag_on_failure)

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        n = table.num_rows
        col = get(table, source)
        if col is None or not is_stringish(col):
            return table, all_true(n)
        present = col.is_valid()
        values, ok_list = _parse_rows(col.to_pylist(), want_objects=target is None)
        ok = pa.array(ok_list, pa.bool_())
        if target is not None:
            if any(v is not None for v in values):
                table = set_where(table, target, _to_arrow(values), ok)
        else:
            objs = [v if v is not None else {} for v in values]
            parsed = objects_array(objs)
            if pa.types.is_struct(parsed.type):
                for i in range(parsed.type.num_fields):
                    name = parsed.type.field(i).name
                    child = pc.struct_field(parsed, i)
                    table = set_where(table, (name,), child, ok)
        bad = pc.and_(as_mask(present), pc.invert(ok))
        if not skip_invalid:
            table = add_tags(table, tags, bad)
        return table, pc.invert(ok)

    return kernel


def _to_arrow(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # mixed kinds across rows: keep each value as its JSON text
        texts = [None if v is None else orjson.dumps(v).decode() for v in values]
        return pa.array(
            [v if isinstance(v, str) else t for v, t in zip(values, texts, strict=True)],
            pa.string(),
        )
