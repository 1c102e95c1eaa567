"""Settings models of the plugins whose kernels live elsewhere (the plugin runtime).

Each plugin is described by a table of ``setting -> (type, default, description)``
(names and defaults from the Logstash reference; Sluice's own plugins documented here)
and turned into a pydantic model with ``extra="forbid"``. ``...`` as a default marks a
required setting. A setting whose name clashes with a pydantic attribute is declared
with a trailing underscore and aliased to its Logstash name.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, create_model

from sluice.pipeline.settings.common import (
    CommonFilterSettings,
    CommonInputSettings,
    CommonOutputSettings,
    PluginSettings,
    StrList,
    StrMap,
)

__all__ = ["FILTERS", "INPUTS", "OUTPUTS"]

Spec = dict[str, tuple[Any, Any, str]]
Port = int
REQUIRED: Any = ...

_INPUTS: dict[str, Spec] = {
    "tcp": {
        "host": (str, "0.0.0.0", "Address to listen on (server) or connect to (client)."),
        "port": (Port, REQUIRED, "TCP port."),
        "mode": (Literal["server", "client"], "server", "Listen for or connect to peers."),
        "ssl_enabled": (bool, False, "Use TLS."),
        "ssl_certificate": (str | None, None, "Path to the TLS certificate."),
        "ssl_key": (str | None, None, "Path to the TLS key."),
        "tcp_keep_alive": (bool, False, "Enable TCP keep-alive."),
        "dns_reverse_lookup_enabled": (bool, True, "Resolve peer addresses to names."),
        "proxy_protocol": (bool, False, "Expect a PROXY protocol header."),
    },
    "udp": {
        "host": (str, "0.0.0.0", "Address to listen on."),
        "port": (Port, REQUIRED, "UDP port."),
        "buffer_size": (int, 65536, "Largest datagram read."),
        "queue_size": (int, 2000, "Datagrams buffered before processing."),
        "workers": (int, 2, "Processing threads."),
        "receive_buffer_bytes": (int | None, None, "Socket receive buffer size."),
        "source_ip_fieldname": (str, "host", "Field receiving the sender address."),
    },
    "http": {
        "host": (str, "0.0.0.0", "Address to listen on."),
        "port": (Port, 8080, "HTTP port."),
        "user": (str | None, None, "Basic-auth user."),
        "password": (str | None, None, "Basic-auth password."),
        "response_code": (int, 200, "Status code of replies."),
        "response_headers": (StrMap, {}, "Headers of replies."),
        "threads": (int | None, None, "Worker threads."),
        "max_pending_requests": (int, 200, "Requests queued before refusing."),
        "max_content_length": (int, 104857600, "Largest accepted body, bytes."),
        "ssl_enabled": (bool, False, "Use TLS."),
        "additional_codecs": (StrMap, {}, "Content type -> codec."),
    },
    "file": {
        "path": (StrList, REQUIRED, "Files or globs to read."),
        "exclude": (StrList, [], "Globs of files to skip."),
        "start_position": (Literal["beginning", "end"], "end", "Where new files start."),
        "sincedb_path": (str | None, None, "Where read positions are kept."),
        "sincedb_write_interval": (str | int, "15 seconds", "How often positions are saved."),
        "stat_interval": (str | int, "1 second", "How often files are checked."),
        "discover_interval": (int, 15, "Stat intervals between glob expansions."),
        "mode": (Literal["tail", "read"], "tail", "Follow files or read them once."),
        "file_completed_action": (str, "delete", "What read mode does with a finished file."),
        "file_completed_log_path": (str | None, None, "Log of finished files."),
        "delimiter": (str, "\n", "Line separator."),
        "close_older": (str | int, "1 hour", "Close files idle this long."),
        "ignore_older": (str | int | None, None, "Skip files older than this."),
        "max_open_files": (int | None, None, "Open files at most."),
        "file_chunk_size": (int, 32768, "Bytes read at a time."),
        "file_sort_by": (Literal["last_modified", "path"], "last_modified", "Read order."),
        "file_sort_direction": (Literal["asc", "desc"], "asc", "Read order direction."),
    },
    "stdin": {},
    "generator": {
        "message": (str, "Hello world!", "The message of every event."),
        "lines": (StrList, [], "Messages emitted in turn (overrides message)."),
        "count": (int, 0, "Events to emit; 0 means forever."),
        "threads": (int, 1, "Emitting threads."),
    },
    "kafka": {
        "bootstrap_servers": (str, "localhost:9092", "Kafka brokers, host:port,..."),
        "topics": (StrList, ["logstash"], "Topics to consume."),
        "topics_pattern": (str | None, None, "Regex of topics to consume."),
        "group_id": (str, "logstash", "Consumer group."),
        "client_id": (str, "logstash", "Client id sent to brokers."),
        "auto_offset_reset": (str | None, None, "earliest, latest or none."),
        "consumer_threads": (int, 1, "Consumer threads."),
        "decorate_events": (str, "none", "Add Kafka metadata: none, basic, extended."),
        "enable_auto_commit": (bool, True, "Commit offsets periodically."),
        "max_poll_records": (int, 500, "Records per poll."),
        "session_timeout_ms": (int, 10000, "Group session timeout."),
        "security_protocol": (str, "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL."),
        "sasl_mechanism": (str, "GSSAPI", "SASL mechanism."),
    },
    "syslog": {
        "host": (str, "0.0.0.0", "Address to listen on (TCP and UDP)."),
        "port": (Port, 514, "Port to listen on."),
        "timezone": (str | None, None, "Zone of timestamps without one."),
        "locale": (str | None, None, "Locale for month names."),
        "use_labels": (bool, True, "Add facility and severity labels."),
        "facility_labels": (StrList, [], "Facility names by number."),
        "severity_labels": (StrList, [], "Severity names by number."),
        "grok_pattern": (str, "<%{POSINT:priority}>%{SYSLOGLINE}", "Pattern of a line."),
        "syslog_field": (str, "message", "Field holding the raw line."),
    },
    "sluice": {
        "topic": (str, REQUIRED, "Bus topic to read (a result table is table_{rt_id})."),
        "consumer_group": (str | None, None, "Consumer group; defaults to the pipeline id."),
        "consuming_mode": (
            Literal["continue", "from_head", "from_tail"],
            "continue",
            "Start at committed offsets, the earliest or the latest offset.",
        ),
    },
}

_FILTERS: dict[str, Spec] = {
    "json": {
        "source": (str, REQUIRED, "Field holding the JSON text."),
        "target": (str | None, None, "Put the parsed object here (default: top level)."),
        "skip_on_invalid_json": (bool, False, "Do not tag invalid JSON."),
        "tag_on_failure": (StrList, ["_jsonparsefailure"], "Tags added on a parse error."),
    },
    "mutate": {
        "convert": (StrMap, {}, "Field -> integer, float, string, boolean."),
        "copy_": (StrMap, {}, "Source field -> destination field (setting `copy`)."),
        "gsub": (StrList, [], "Triples: field, regex, replacement."),
        "join": (StrMap, {}, "Array field -> separator."),
        "lowercase": (StrList, [], "Fields to lowercase."),
        "uppercase": (StrList, [], "Fields to uppercase."),
        "capitalize": (StrList, [], "Fields to capitalize."),
        "merge": (StrMap, {}, "Destination field <- source field."),
        "coerce": (StrMap, {}, "Field -> default value when null."),
        "rename": (StrMap, {}, "Old name -> new name."),
        "replace": (StrMap, {}, "Field -> new value (sprintf)."),
        "update": (StrMap, {}, "Field -> new value, only if the field exists."),
        "split": (StrMap, {}, "Field -> separator, making an array."),
        "strip": (StrList, [], "Fields to strip of surrounding whitespace."),
        "tag_on_failure": (str, "_mutate_error", "Tag added on an error."),
    },
    "date": {
        "match": (
            StrList,
            REQUIRED,
            "Field, then one or more formats (ISO8601, UNIX, UNIX_MS, Joda).",
        ),
        "target": (str, "@timestamp", "Field receiving the parsed time."),
        "timezone": (str | None, None, "Zone of times without one."),
        "locale": (str | None, None, "Locale for month and day names."),
        "tag_on_failure": (StrList, ["_dateparsefailure"], "Tags added when no format matches."),
    },
    "drop": {
        "percentage": (int, 100, "Percentage of the events reaching this filter to drop."),
    },
    "split": {
        "field": (str, "message", "Field to split (a string or an array)."),
        "target": (str | None, None, "Field receiving each piece (default: the same field)."),
        "terminator": (str, "\n", "Separator of a string field."),
    },
    "truncate": {
        "fields": (StrList, [], "Fields to truncate (default: all string fields)."),
        "length_bytes": (int, REQUIRED, "Largest length in bytes."),
    },
    "fingerprint": {
        "source": (StrList, ["message"], "Fields to fingerprint."),
        "target": (str, "fingerprint", "Field receiving the fingerprint."),
        "method": (
            Literal[
                "SHA1",
                "SHA256",
                "SHA384",
                "SHA512",
                "MD5",
                "MURMUR3",
                "MURMUR3_128",
                "IPV4_NETWORK",
                "UUID",
                "PUNCTUATION",
            ],
            "SHA256",
            "Hash method.",
        ),
        "key": (str | None, None, "HMAC key."),
        "base64encode": (bool, False, "Base64 instead of hex."),
        "concatenate_sources": (bool, False, "One fingerprint of all sources."),
        "concatenate_all_fields": (bool, False, "One fingerprint of the whole event."),
    },
    "uuid": {
        "target": (str, REQUIRED, "Field receiving a random UUID."),
        "overwrite": (bool, False, "Replace an existing value."),
    },
    "translate": {
        "source": (str, "message", "Field to look up (setting `field` in old configs)."),
        "target": (str, "translation", "Field receiving the translation."),
        "dictionary": (StrMap, {}, "Value -> translation."),
        "dictionary_path": (str | None, None, "YAML, JSON or CSV dictionary file."),
        "exact": (bool, True, "Match whole values (else substrings)."),
        "regex": (bool, False, "Dictionary keys are regexes."),
        "fallback": (str | None, None, "Value when nothing matches."),
        "override": (bool, False, "Replace an existing target value."),
        "refresh_interval": (int, 300, "Seconds between dictionary file reloads."),
        "iterate_on": (str | None, None, "Translate each item of this array field."),
    },
    "useragent": {
        "source": (str, REQUIRED, "Field holding the user-agent string."),
        "target": (str | None, None, "Put the parsed fields here."),
        "regexes": (str | None, None, "Custom regexes.yaml."),
        "lru_cache_size": (int, 100000, "Cached lookups."),
        "prefix": (str, "", "Prefix of the parsed field names."),
    },
    "sql": {
        "statement": (str, REQUIRED, "SQL over the batch, which is the table `table_name`."),
        "table_name": (str, "events", "Name of the batch inside the statement."),
    },
}

_OUTPUTS: dict[str, Spec] = {
    "stdout": {},
    "null": {},
    "file": {
        "path": (str, REQUIRED, "File to write (sprintf)."),
        "flush_interval": (int, 2, "Seconds between flushes; 0 flushes every event."),
        "gzip": (bool, False, "Compress the output."),
        "create_if_deleted": (bool, True, "Re-create a deleted file."),
        "dir_mode": (int, -1, "Directory permissions (-1: default)."),
        "file_mode": (int, -1, "File permissions (-1: default)."),
        "filename_failure": (str, "_filepath_failures", "File used when path is invalid."),
        "write_behavior": (Literal["append", "overwrite"], "append", "Append or replace."),
    },
    "elasticsearch": {
        "hosts": (StrList, ["127.0.0.1:9200"], "Elasticsearch nodes."),
        "index": (str, "logstash-%{+yyyy.MM.dd}", "Target index (sprintf)."),
        "document_id": (str | None, None, "Document id (sprintf)."),
        "action": (str, "index", "index, create, update or delete."),
        "user": (str | None, None, "Basic-auth user."),
        "password": (str | None, None, "Basic-auth password."),
        "api_key": (str | None, None, "API key id:key."),
        "pipeline": (str | None, None, "Ingest pipeline."),
        "routing": (str | None, None, "Routing value (sprintf)."),
        "manage_template": (bool, True, "Install an index template."),
        "template_name": (str | None, None, "Name of the index template."),
        "ssl_enabled": (bool | None, None, "Use TLS."),
        "data_stream": (str, "auto", "Write to a data stream: auto, true, false."),
        "doc_as_upsert": (bool, False, "Upsert on update."),
        "retry_on_conflict": (int, 1, "Retries of a conflicting update."),
    },
    "kafka": {
        "bootstrap_servers": (str, "localhost:9092", "Kafka brokers."),
        "topic_id": (str, REQUIRED, "Topic to produce to (sprintf)."),
        "message_key": (str | None, None, "Record key (sprintf)."),
        "acks": (Literal["0", "1", "all"], "1", "Acknowledgements required."),
        "batch_size": (int, 16384, "Producer batch size in bytes."),
        "linger_ms": (int, 0, "Time to wait to fill a batch."),
        "compression_type": (str, "none", "none, gzip, snappy, lz4, zstd."),
        "client_id": (str | None, None, "Client id sent to brokers."),
        "retries": (int | None, None, "Produce retries."),
        "security_protocol": (str, "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL."),
    },
    "http": {
        "url": (str, REQUIRED, "Target URL (sprintf)."),
        "http_method": (
            Literal["put", "post", "patch", "delete", "get", "head"],
            REQUIRED,
            "HTTP method.",
        ),
        "format": (Literal["json", "json_batch", "form", "message"], "json", "Body format."),
        "headers": (StrMap, {}, "Request headers."),
        "content_type": (str | None, None, "Content-Type header."),
        "mapping": (StrMap, {}, "Body fields (sprintf values)."),
        "message": (str | None, None, "Body for format => message."),
        "retry_failed": (bool, True, "Retry failed requests."),
        "automatic_retries": (int, 1, "Retries of failed connections."),
        "pool_max": (int, 50, "Concurrent connections."),
        "request_timeout": (int, 60, "Seconds before a request times out."),
    },
    "redis": {
        "host": (StrList, ["127.0.0.1"], "Redis hosts, host[:port]."),
        "port": (Port, 6379, "Default port."),
        "db": (int, 0, "Database number."),
        "password": (str | None, None, "Password."),
        "key": (str, REQUIRED, "List or channel name (sprintf)."),
        "data_type": (Literal["list", "channel"], "list", "RPUSH to a list or PUBLISH."),
        "batch": (bool, False, "Push events in batches."),
        "batch_events": (int, 50, "Events per batch."),
        "timeout": (int, 5, "Connection timeout, seconds."),
    },
    "postgresql": {
        "url": (str, REQUIRED, "postgresql://user@host:port/db"),
        "table": (str, REQUIRED, "Target table."),
        "columns": (StrList, [], "Columns to write (default: every event field)."),
        "mode": (Literal["insert", "upsert"], "insert", "Insert or upsert on `keys`."),
        "keys": (StrList, [], "Key columns of an upsert."),
        "batch_size": (int, 1000, "Rows per statement."),
    },
    "mysql": {
        "url": (str, REQUIRED, "mysql://user@host:port/db"),
        "table": (str, REQUIRED, "Target table."),
        "columns": (StrList, [], "Columns to write (default: every event field)."),
        "mode": (Literal["insert", "upsert"], "insert", "Insert or upsert (ON DUPLICATE KEY)."),
        "batch_size": (int, 1000, "Rows per statement."),
    },
    "sluice": {
        "topic": (str, REQUIRED, "Bus topic to write (sprintf not allowed)."),
        "key": (str | None, None, "Partition key (sprintf)."),
    },
}


def _models(
    specs: dict[str, Spec], base: type[PluginSettings], suffix: str
) -> dict[str, type[PluginSettings]]:
    out: dict[str, type[PluginSettings]] = {}
    for plugin, spec in specs.items():
        fields: dict[str, Any] = {}
        for name, (type_, default, description) in spec.items():
            alias = name[:-1] if name.endswith("_") else None
            if isinstance(default, list | dict):
                factory = (lambda d: lambda: type(d)(d))(default)
                fields[name] = (
                    type_,
                    Field(default_factory=factory, description=description, alias=alias),
                )
            else:
                fields[name] = (type_, Field(default=default, description=description, alias=alias))
        model_name = "".join(p.title() for p in plugin.split("_")) + suffix
        out[plugin] = create_model(
            model_name, __base__=base, __doc__=f"`{plugin}` settings.", **fields
        )
    return out


INPUTS = _models(_INPUTS, CommonInputSettings, "InputSettings")
"""Input name -> settings model."""
FILTERS = _models(_FILTERS, CommonFilterSettings, "FilterSettings")
"""Filter name -> settings model (grok, dissect and kv are in :mod:`.filters`)."""
OUTPUTS = _models(_OUTPUTS, CommonOutputSettings, "OutputSettings")
"""Output name -> settings model."""
