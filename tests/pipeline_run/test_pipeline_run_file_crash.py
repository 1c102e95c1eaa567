"""The ``file`` input after a crash between storing a read in the bus and saving its position
file: the restart takes the position from the bus (the read's mark), so nothing is read twice.

The crash is injected (a fake, for failure injection only): the position file's save raises
once, right after an emit stored its lines, which stops the input where a killed process
would have stopped; the same bus and state directory then serve a new runner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pipeline_run_helpers import wait_for  # type: ignore[import-not-found]

from sluice.bus import Bus
from sluice.pipeline.run import PipelineRunner
from sluice.plugins.inputs.file import FileInput


def _config(logs: list[Path], out: Path, codec: str) -> str:
    inputs = " ".join(
        f'file {{ id => "in{i}" path => "{log}" start_position => "beginning" '
        f'stat_interval => "50 ms" codec => {codec} }}'
        for i, log in enumerate(logs)
    )
    return f"""
    input {{ {inputs} }}
    output {{ file {{ path => "{out}" codec => line {{ format => "%{{message}}" }} }} }}
    """


def _write(path: Path, lines: list[str], codec: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        for line in lines:
            f.write((json.dumps({"message": line}) if codec == "json_lines" else line) + "\n")


def _out(out: Path) -> list[str]:
    return out.read_text("utf-8").splitlines() if out.exists() else []


@pytest.mark.parametrize("codec", ["plain", "json_lines"])
def test_a_crash_between_emit_and_position_save_repeats_nothing(
    bus: Bus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    out, state = tmp_path / "out.txt", tmp_path / "state"
    config = _config(logs, out, codec)
    _write(logs[0], [f"a{i}" for i in range(50)], codec)
    _write(logs[1], [f"b{i}" for i in range(30)], codec)
    with PipelineRunner("crash", config, bus, state) as runner:
        assert wait_for(lambda: len(_out(out)) == 80)
        saves: list[Any] = []
        real_save = FileInput._save

        def crash_once(self: FileInput) -> None:  # the fake: the process "dies" here once
            if self.node.id == "in0" and not saves:
                saves.append(self)
                raise RuntimeError("injected crash between the emit and the position save")
            real_save(self)

        monkeypatch.setattr(FileInput, "_save", crash_once)
        _write(logs[0], [f"a{i}" for i in range(50, 70)], codec)
        assert wait_for(lambda: len(_out(out)) == 100)  # stored before the "crash"
        assert wait_for(lambda: any(i.error is not None for i in runner.inputs))
        monkeypatch.setattr(FileInput, "_save", real_save)
    sincedb = json.loads((state / "sincedb_in0.json").read_text("utf-8"))
    offsets = [v["offset"] for k, v in sincedb.items() if k != "bus"]
    assert offsets == [logs[0].stat().st_size - 20 * len(_line("a50", codec))]  # behind
    # The restart reads on from the bus's mark: the 20 lines are not emitted again.
    _write(logs[0], ["a70"], codec)
    _write(logs[1], ["b30"], codec)
    with PipelineRunner("crash", config, bus, state):
        assert wait_for(lambda: len(_out(out)) >= 102)
        assert not wait_for(lambda: len(_out(out)) > 102, timeout=1.0)
    got = _out(out)
    assert sorted(got) == sorted([f"a{i}" for i in range(71)] + [f"b{i}" for i in range(31)])
    sincedb = json.loads((state / "sincedb_in0.json").read_text("utf-8"))
    assert [v["offset"] for k, v in sincedb.items() if k != "bus"] == [logs[0].stat().st_size]


def test_a_crash_after_a_new_inputs_first_read_repeats_nothing(
    bus: Bus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No position file yet: the input saves the topic's end when it opens, so even its
    first read's mark is found after a crash in that read's position save."""
    log, out, state = tmp_path / "a.log", tmp_path / "out.txt", tmp_path / "state"
    config = _config([log], out, "plain")
    _write(log, [f"a{i}" for i in range(10)], "plain")
    real_save = FileInput._save
    crashed: list[bool] = []

    def crash_first_read(self: FileInput) -> None:  # the fake: dies in the first read's save
        if not crashed and any(key != "bus" for key in self.positions):
            crashed.append(True)
            raise RuntimeError("injected crash between the first emit and its position save")
        real_save(self)

    monkeypatch.setattr(FileInput, "_save", crash_first_read)
    with PipelineRunner("first", config, bus, state) as runner:
        assert wait_for(lambda: len(_out(out)) == 10)
        assert wait_for(lambda: any(i.error is not None for i in runner.inputs))
    monkeypatch.setattr(FileInput, "_save", real_save)
    _write(log, ["a10"], "plain")
    with PipelineRunner("first", config, bus, state):
        assert wait_for(lambda: len(_out(out)) >= 11)
        assert not wait_for(lambda: len(_out(out)) > 11, timeout=1.0)
    assert _out(out) == [f"a{i}" for i in range(11)]


def _line(text: str, codec: str) -> str:
    return (json.dumps({"message": text}) if codec == "json_lines" else text) + "\n"


def test_without_a_bus_the_position_file_alone_is_used(tmp_path: Path) -> None:
    """An input outside a runtime (no bus, no topic) keeps working from its position file."""
    from sluice.pipeline.compiler import compile_pipeline
    from sluice.plugins.inputs.base import InputContext

    log = tmp_path / "x.log"
    log.write_text("one\ntwo\n", "utf-8")
    node = compile_pipeline(
        f'input {{ file {{ path => "{log}" start_position => "beginning" }} }} '
        "output { stdout {} }"
    ).inputs[0]
    got: list[Any] = []
    inp = FileInput(node, InputContext(pipeline="p", state_dir=tmp_path / "s"))  # type: ignore[arg-type]
    inp._emit = lambda events, mark: got.append((events, mark))
    inp.open()
    assert inp.poll() == 2
    assert len(got) == 1 and json.loads(got[0][1])["offset"] == 8
    assert json.loads((tmp_path / "s" / f"sincedb_{node.id}.json").read_text("utf-8"))
