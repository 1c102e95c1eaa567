"""Events between JSON and Arrow: mixed kinds across a batch, bad values, simulate."""

from __future__ import annotations

from sluice.pipeline.run import decode_events, diff_events, events_table, run_filters


def test_mixed_kinds_become_text() -> None:
    table = events_table([{"a": 1, "o": {"x": 1}}, {"a": "x", "o": {"x": "y"}}, {}])
    assert table.to_pylist() == [
        {"a": "1", "o": '{"x":1}'},
        {"a": "x", "o": '{"x":"y"}'},
        {"a": None, "o": None},
    ]
    assert events_table([{}, {}]).num_rows == 2


def test_decode_reports_bad_values() -> None:
    table, kept, bad = decode_events([b'{"a": 1}', b"[1]", b"{", b'{"a": 2}'])
    assert table.column("a").to_pylist() == [1, 2] and kept == [0, 3]
    assert [i for i, _ in bad] == [1, 2]
    assert bad[0][1] == "not a JSON object" and bad[1][1].startswith("not JSON")


def test_json_filter_merges_objects_of_mixed_kinds() -> None:
    got = run_filters(
        'filter { json { source => "m" } }', [{"m": '{"a": 1}'}, {"m": '{"a": "x", "b": true}'}]
    )
    assert got == [{"m": '{"a": 1}', "a": "1"}, {"m": '{"a": "x", "b": true}', "a": "x", "b": True}]


def test_diff_compares_times_as_instants() -> None:
    got = [{"t": "2020-01-01T00:00:00.000Z", "a": 1}]
    assert diff_events(got, [{"t": "2020-01-01T01:00:00+01:00", "a": 1}]) == []
    assert diff_events(got, [{"t": "2020-01-01T00:00:00Z", "a": 2}]) == [
        "event 1: [a] expected 2, got 1"
    ]
    assert diff_events(got, []) == ["expected 0 events, got 1"]
