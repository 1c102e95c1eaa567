"""Parse syslog lines (RFC 3164 and RFC 5424) a whole column at a time.

Who calls it: the ``syslog`` input, once per batch of received lines. Fields, as
Logstash's syslog input sets them (legacy names): ``priority``, ``facility``, ``severity``,
``facility_label`` and ``severity_label`` (with ``use_labels``), ``timestamp`` (the text),
``logsource`` (the sender's host name), ``program``, ``pid``, ``message`` (the text after
the header); RFC 5424 lines also give ``msgid`` and ``structured_data`` (the raw ``[...]``
elements); ``-`` (nil) values are left out. ``@timestamp`` is the header's time (BSD times
have no year: the current year, in ``timezone``, default UTC), else now. A line that is
neither format keeps the whole line as ``message``, gets priority 13 (user-level notice)
and the tag ``_grokparsefailure_sysloginput``. Two RE2 passes (``pc.extract_regex``) and
column kernels: no Python per line.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["FACILITIES", "FAILURE_TAG", "SEVERITIES", "parse_syslog"]

FACILITIES = [
    "kernel", "user-level", "mail", "daemon", "security/authorization", "syslogd",
    "line printer", "network news", "uucp", "clock", "security/authorization", "ftp", "ntp",
    "log audit", "log alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
]  # fmt: skip
SEVERITIES = [
    "Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug",
]  # fmt: skip
FAILURE_TAG = "_grokparsefailure_sysloginput"

_RFC5424 = (
    r"^<(?P<priority>[0-9]{1,3})>[1-9][0-9]? (?P<timestamp>\S+) (?P<logsource>\S+) "
    r"(?P<program>\S+) (?P<pid>\S+) (?P<msgid>\S+) "
    r'(?P<structured_data>-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)'
    r"(?: (?P<message>(?s:.*)))?$"
)
_RFC3164 = (
    r"^<(?P<priority>[0-9]{1,3})>"
    r"(?P<timestamp>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}T\S+) "
    r"(?:(?P<logsource>[^\s:\[]+) )?(?P<program>[^\s:\[]+)(?:\[(?P<pid>[^\]]*)\])?: ?"
    r"(?P<message>(?s:.*))$"
)

_ISO = (
    r"^(?P<base>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.(?P<frac>[0-9]+))?"
    r"(?P<zone>Z|[+-][0-9]{2}:?[0-9]{2})$"
)


def _nil(arr: pa.Array) -> pa.Array:
    """Empty and RFC 5424 nil (``-``) values as null."""
    return pc.if_else(pc.is_in(arr, value_set=pa.array(["", "-"])), None, arr)


def _time(text: pa.Array, zone: str) -> pa.Array:
    """Header times as ``timestamp[ms, UTC]`` (null where unparsable)."""
    year = str(dt.datetime.now(dt.UTC).year)
    bsd = pc.replace_substring(pc.binary_join_element_wise(year, text, " "), "  ", " ")
    local = pc.strptime(bsd, format="%Y %b %d %H:%M:%S", unit="ms", error_is_null=True)
    bsd_utc = pc.assume_timezone(local, zone, ambiguous="earliest", nonexistent="earliest")
    parts = pc.extract_regex(text, pattern=_ISO)
    frac = pc.utf8_slice_codeunits(parts.field("frac"), 0, 3)
    frac = pc.if_else(pc.equal(frac, ""), "", pc.binary_join_element_wise(".", frac, ""))
    iso = pc.binary_join_element_wise(parts.field("base"), frac, parts.field("zone"), "")
    iso = pc.if_else(parts.is_valid(), iso, None)
    iso_utc = pc.cast(iso, pa.timestamp("ms", tz="UTC"), safe=False)
    return pc.coalesce(bsd_utc.cast(pa.timestamp("ms", tz="UTC")), iso_utc)


def parse_syslog(lines: pa.Array, cfg: Any, now: str) -> pa.Table:
    """Parse ``lines`` (strings) into event columns (see the module doc); ``now`` is the
    ``@timestamp`` text of lines without a usable time."""
    n = len(lines)
    a = pc.extract_regex(lines, pattern=_RFC5424)
    b = pc.extract_regex(lines, pattern=_RFC3164)
    ok5, ok3 = a.is_valid(), b.is_valid()
    matched = pc.or_(ok5, ok3)

    none = pa.nulls(n, pa.string())

    def pick(name: str) -> pa.Array:
        """The field from the format that matched (null where neither did)."""
        other = none if name in ("msgid", "structured_data") else b.field(name)
        return pc.if_else(ok5, a.field(name), pc.if_else(ok3, other, none))

    priority = pc.fill_null(pc.cast(pick("priority"), pa.int64()), 13)
    facility = pc.divide(priority, 8)
    severity = pc.subtract(priority, pc.multiply(facility, 8))
    stamp = pick("timestamp")
    times = _time(stamp, cfg.timezone or "UTC")
    text = pc.strftime(times, format="%Y-%m-%dT%H:%M:%SZ")
    columns: dict[str, pa.Array] = {
        "message": pc.if_else(matched, pc.fill_null(pick("message"), ""), lines),
        "@timestamp": pc.fill_null(text, now),
        "priority": priority,
        "facility": facility,
        "severity": severity,
        "timestamp": _nil(stamp),
        "logsource": _nil(pick("logsource")),
        "program": _nil(pick("program")),
        "pid": _nil(pick("pid")),
        "msgid": _nil(pick("msgid")),
        "structured_data": _nil(pick("structured_data")),
    }
    if cfg.use_labels:
        facilities = pa.array(list(cfg.facility_labels) or FACILITIES, pa.string())
        severities = pa.array(list(cfg.severity_labels) or SEVERITIES, pa.string())
        for name, labels, number in (
            ("facility_label", facilities, facility),
            ("severity_label", severities, severity),
        ):
            inside = pc.less(number, len(labels))
            columns[name] = pc.take(labels, pc.if_else(inside, number, None))
    tags = pa.array([[FAILURE_TAG]], pa.list_(pa.string())).take(
        pc.if_else(matched, None, pa.repeat(pa.scalar(0, pa.int64()), n))
    )
    columns["tags"] = tags
    return pa.table(columns)
