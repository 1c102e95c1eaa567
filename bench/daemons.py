"""Generated configurations for the log daemons: rsyslog and syslog-ng, W0, W1 and W2.

Who calls it: :mod:`bench.tools` builds the command line of a daemon run from
:func:`rsyslog_config` / :func:`syslog_ng_config`. Each config reads the input file from
its beginning, processes it, and writes one output file; the daemon runs in the
foreground with a private work directory, pid file, control socket and persist file, and
opens no system socket (no ``/dev/log``, no kernel log), so it never disturbs a system
syslog. Both daemons do W1's ``latency_ms * 1000`` with string operations (their config
languages have integer arithmetic only): the generator writes ``latency_ms`` with at most
3 decimals, so the microseconds are the digits with the point removed.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["RSYSLOG_W2_RULEBASE", "rsyslog_config", "syslog_ng_config"]

RSYSLOG_W2_RULEBASE = (
    "version=2\n"
    "rule=:%clientip:word% %ident:word% %auth:word% "
    '[%timestamp:char-to{"extradata":"]"}%] '
    '"%verb:word% %request:word% HTTP/%httpversion:char-to{"extradata":"\\""}%" '
    '%response:number{"format":"number"}% %bytes:number{"format":"number"}% '
    '"%referrer:char-to{"extradata":"\\""}%" "%agent:char-to{"extradata":"\\""}%"\n'
)

_RS_QUEUE = (
    'queue.type="LinkedList" queue.workerThreads="2" queue.size="200000" '
    'queue.dequeueBatchSize="2048"'
)
_RS_OUT = 'ioBufferSize="1m" flushOnTXEnd="on"'

_RS_W1_TEMPLATE = """template(name="out" type="list" option.jsonf="on") {
  property(outname="ts" name="$!ts" format="jsonf")
  property(outname="host" name="$!host" format="jsonf")
  property(outname="service" name="$!service" format="jsonf")
  property(outname="level" name="$!level" format="jsonf")
  property(outname="status" name="$!status" format="jsonf" datatype="number")
  property(outname="latency_us" name="$.us" format="jsonf" datatype="number")
}"""


def rsyslog_config(workload: str, input_path: Path, output: Path, workdir: Path) -> str:
    """rsyslog config (RainerScript) for W0, W1 (``mmjsonparse``) or W2 (``mmnormalize``)."""
    head = (
        f'global(workDirectory="{workdir}" maxMessageSize="64k")\n'
        'module(load="imfile" mode="inotify")\n'
    )
    out = f'action(type="omfile" file="{output}" template="out" {_RS_OUT})'
    if workload == "w0":
        body = (
            'template(name="out" type="string" string="%rawmsg%\\n")\n'
            f'ruleset(name="bench" {_RS_QUEUE}) {{\n  {out}\n}}\n'
        )
    elif workload == "w1":
        body = (
            'module(load="mmjsonparse")\n'
            f"{_RS_W1_TEMPLATE}\n"
            f'ruleset(name="bench" {_RS_QUEUE}) {{\n'
            '  action(type="mmjsonparse" cookie="")\n'
            '  if $parsesuccess == "OK" and ($!level == "WARN" or $!level == "ERROR" '
            "or $!status >= 500) then {\n"
            # the digits as written in the input (json-c re-prints doubles with 17 digits)
            "    set $.int = re_extract($rawmsg, '\"latency_ms\":([0-9]+)', 0, 1, '0');\n"
            "    set $.frac = substring(re_extract($rawmsg, "
            "'\"latency_ms\":[0-9]+[.]([0-9]+)', 0, 1, '') & '000', 0, 3);\n"
            "    set $.us = cnum($.int & $.frac);\n"
            f"    {out}\n  }}\n}}\n"
        )
    elif workload == "w2":
        rulebase = workdir / "combined.rb"
        rulebase.write_text(RSYSLOG_W2_RULEBASE, encoding="utf-8")
        body = (
            'module(load="mmnormalize")\n'
            'template(name="out" type="string" string="%$!%\\n")\n'
            f'ruleset(name="bench" {_RS_QUEUE}) {{\n'
            f'  action(type="mmnormalize" rulebase="{rulebase}" useRawMsg="on")\n'
            f'  if $parsesuccess == "OK" then {out}\n}}\n'
        )
    else:
        raise ValueError(f"rsyslog has no config for workload {workload!r}")
    return (
        head + body + f'input(type="imfile" file="{input_path}" tag="bench" ruleset="bench" '
        'freshStartTail="off" addMetadata="off")\n'
    )


_SNG_W2_RE = (
    r"^(?<clientip>\S+) (?<ident>\S+) (?<auth>\S+) \[(?<timestamp>[^\]]+)\] "
    r'"(?<verb>\S+) (?<request>\S+) HTTP/(?<httpversion>[^"]+)" (?<response>\d+) '
    r'(?<bytes>\d+) "(?<referrer>[^"]*)" "(?<agent>[^"]*)"$'
)


def _sng_str(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def syslog_ng_config(workload: str, input_path: Path, output: Path, version: str) -> str:
    """syslog-ng config for W0, W1 (``json-parser``) or W2 (``regexp-parser``)."""
    head = (
        f"@version: {version}\n"
        "options { threaded(yes); flush-lines(1000); log-fifo-size(200000); stats-freq(0); "
        "keep-timestamp(no); chain-hostnames(no); };\n"
        f'source s_in {{ file("{input_path}" flags(no-parse) follow-freq(1) '
        "log-fetch-limit(10000) log-iw-size(100000) log-msg-size(65536)); };\n"
    )
    if workload == "w0":
        body = 'destination d_out { file("OUT" template("${MESSAGE}\\n")); };\n'
        path = "log { source(s_in); destination(d_out); };\n"
    elif workload == "w1":
        body = (
            'parser p_json { json-parser(prefix(".j.")); };\n'
            'filter f_keep { "${.j.level}" eq "WARN" or "${.j.level}" eq "ERROR" '
            'or "${.j.status}" >= 500; };\n'
            'parser p_lat { regexp-parser(template("${.j.latency_ms}") prefix(".l.") '
            r"patterns('^(?<i>\d+)\.(?<f>\d*)$')); };" + "\n"
            "rewrite r_us {\n"
            '  set("${.l.i}$(substr \\"${.l.f}000\\" 0 3)" value(".us"));\n'
            '  subst("^0+(?=[0-9])", "", value(".us"));\n};\n'
            'destination d_out { file("OUT" template("$(format-json ts=${.j.ts} '
            "host=${.j.host} service=${.j.service} level=${.j.level} "
            'status=int64(${.j.status}) latency_us=int64(${.us}))\\n")); };\n'
        )
        path = (
            "log { source(s_in); parser(p_json); filter(f_keep); parser(p_lat); "
            "rewrite(r_us); destination(d_out); };\n"
        )
    elif workload == "w2":
        body = (
            f'parser p_re {{ regexp-parser(prefix(".g.") patterns({_sng_str(_SNG_W2_RE)})); }};\n'
            'destination d_out { file("OUT" template("$(format-json '
            "clientip=${.g.clientip} ident=${.g.ident} auth=${.g.auth} "
            "timestamp=${.g.timestamp} verb=${.g.verb} request=${.g.request} "
            "httpversion=${.g.httpversion} response=int64(${.g.response}) "
            "bytes=int64(${.g.bytes}) referrer=${.g.referrer} agent=${.g.agent}"
            ')\\n")); };\n'
        )
        path = "log { source(s_in); parser(p_re); destination(d_out); };\n"
    else:
        raise ValueError(f"syslog-ng has no config for workload {workload!r}")
    return head + body.replace('"OUT"', f'"{output}"') + path
