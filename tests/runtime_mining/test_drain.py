"""The Drain miner: templates, masking, similarity threshold, max_child, state, bad input."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sluice.runtime.mining import (
    WILDCARD,
    DrainConfig,
    DrainTree,
    Level,
    MaskRule,
    SnapshotError,
    TemplateMiner,
    TooManyClusters,
)
from sluice.runtime.mining.masking import Masker, Tokenizer

NO_MASKS = DrainConfig(variables=())
SHALLOW = DrainConfig(variables=(), depth=3, levels=(Level(name="05", st=0.5),))
"""No leading-token layers: every line of a length meets in one leaf."""


def mine(config: DrainConfig, lines: list[str]) -> tuple[TemplateMiner, list[int], list[str]]:
    miner = TemplateMiner(config)
    mined = miner.mine(pa.array(lines))
    return miner, mined.cluster_ids().to_pylist(), mined.patterns().to_pylist()


def test_lines_of_one_template_share_a_cluster_and_the_template_generalises() -> None:
    lines = [
        "worker alpha picked job from queue",
        "worker beta picked job from queue",
        "disk full on volume data",
        "worker gamma picked job from queue",
    ]
    miner, ids, patterns = mine(SHALLOW, lines)
    assert ids == [0, 0, 1, 0]
    assert patterns[0] == f"worker {WILDCARD} picked job from queue"
    assert miner.templates() == [
        (miner.templates()[0][0], 3, f"worker {WILDCARD} picked job from queue"),
        (miner.templates()[1][0], 1, "disk full on volume data"),
    ]


def test_default_masks_name_variables_and_keep_separators() -> None:
    lines = [
        "Connection to 10.0.0.1:5432 refused after 3 retries at 2026-11-22T00:00:01Z",
        "Connection to 10.9.8.7:80 refused after 12 retries at 2026-01-02 03:04:05.123",
        "GET https://shop.example.com/a?b=1 took 35ms for /var/log/app.log",
        "id 123e4567-e89b-12d3-a456-426614174000 done",
        "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 0x00f067aa0ba902b7 at 1795000020000",
    ]
    _, ids, patterns = mine(DrainConfig(), lines)
    assert ids == [0, 0, 1, 2, 3]
    assert patterns[0] == "Connection to #IP-PORT# refused after #NUMBER# retries at #DATETIME#"
    assert patterns[2] == "GET #URL# took #NUMBER#ms for #PATH#"
    assert patterns[3] == "id #UUID# done"
    assert patterns[4] == "trace #HEX# span #HEX# at #HEX#"  # 8+ digits count as hex


def test_case_sensitivity() -> None:
    lines = ["User Alice Logged In", "user alice logged in"]
    folded = mine(DrainConfig(variables=(), levels=(Level(name="05", st=1.0),)), lines)
    assert folded[1] == [0, 0]
    assert folded[2] == ["User Alice Logged In"] * 2  # shown as the first line had it
    sensitive = DrainConfig(variables=(), case_sensitive=True, levels=(Level(name="05", st=1.0),))
    assert mine(sensitive, lines)[1] == [0, 1]


def test_max_log_length_truncates_before_mining() -> None:
    config = DrainConfig(variables=(), max_log_length=9)
    _, ids, patterns = mine(config, ["abc def ghi jkl", "abc def ghZZZ"])
    assert patterns == ["abc def g", "abc def g"] and ids == [0, 0]


def test_masks_that_re2_refuses_fall_back_to_python_re() -> None:
    rule = MaskRule(name="KEY", regex=r"(?<=key=)\w+")
    lines = ["SET Key=abc now", "set key=xyz now"]
    _, ids, patterns = mine(DrainConfig(variables=(rule,)), lines)
    assert patterns == ["SET Key=#KEY# now", "SET Key=#KEY# now"] and ids == [0, 0]


def test_similarity_threshold_splits_or_merges() -> None:
    lines = ["a b c d", "a b x y"]  # half the tokens agree
    assert mine(SHALLOW, lines)[1] == [0, 0]
    strict = SHALLOW.model_copy(update={"levels": (Level(name="05", st=0.6),)})
    assert mine(strict, lines)[1] == [0, 1]


def test_leading_tokens_keep_lines_apart_whatever_the_threshold() -> None:
    lines = ["a b c d", "a x c d"]  # depth 4: the second token is a tree layer
    deep = SHALLOW.model_copy(update={"depth": 4})
    assert mine(deep, lines)[1] == [0, 1]
    assert mine(SHALLOW, lines)[1] == [0, 0]


def test_every_level_has_its_own_clusters_and_signature() -> None:
    config = SHALLOW.model_copy(
        update={"levels": (Level(name="01", st=0.9), Level(name="09", st=0.5))}
    )
    miner = TemplateMiner(config)
    mined = miner.mine(pa.array(["a b c d", "a b x y"]))
    assert mined.cluster_ids(0).to_pylist() == [0, 1]
    assert mined.cluster_ids(1).to_pylist() == [0, 0]
    sigs = mined.signatures().to_pylist()
    assert sigs[0].startswith('{"01":') and '"09":' in sigs[0] and sigs[0] != sigs[1]


def test_signatures_are_stable_across_miners_and_generalisation() -> None:
    first = TemplateMiner(SHALLOW).mine(pa.array(["job one done", "job two done"]))
    again = TemplateMiner(SHALLOW).mine(pa.array(["job one done"]))
    assert first.signatures().to_pylist() == [again.signatures().to_pylist()[0]] * 2


def test_max_child_sends_further_leading_tokens_to_the_wildcard_child() -> None:
    tree = DrainTree("05", st=1.0, depth=4, max_child=2, max_clusters=100)
    for word in ("alpha", "beta", "gamma"):
        tree.add([word, "x", "y"], ["", " ", " ", ""])
    data = tree.snapshot()["tree"]["3"]["c"]
    assert set(data) == {"alpha", WILDCARD}
    assert len(tree.clusters) == 3  # st 1.0: the wildcard leaf keeps beta and gamma apart


def test_tokens_with_digits_route_to_the_wildcard_child() -> None:
    tree = DrainTree("05", st=0.5, depth=4, max_child=100, max_clusters=100)
    tree.add(["id7", "done"], ["", " ", ""])
    tree.add(["id8", "done"], ["", " ", ""])
    assert len(tree.clusters) == 1
    assert set(tree.snapshot()["tree"]["2"]["c"]) == {WILDCARD}


def test_identical_lines_in_a_batch_walk_the_tree_once_and_count_all() -> None:
    miner = TemplateMiner(NO_MASKS)
    mined = miner.mine(pa.array(["x y z"] * 1000 + ["p q"] * 10 + ["x y z"]))
    assert mined.distinct == 2 and mined.rows == 1011
    assert mined.is_new().to_pylist() == [1] + [0] * 999 + [1] + [0] * 10
    assert [size for _, size, _ in miner.templates()] == [1001, 10]


def test_snapshot_round_trip_keeps_clusters_and_tree() -> None:
    miner = TemplateMiner(DrainConfig())
    miner.mine(pa.array([f"user {i} logged in from 10.0.0.{i}" for i in range(50)]))
    miner.mine(pa.array(["cache miss key 1", "cache miss key 2"]))
    copy = TemplateMiner(DrainConfig())
    copy.restore(miner.snapshot())
    assert copy.templates() == miner.templates() and copy.lines == 52
    later = copy.mine(pa.array(["user 99 logged in from 10.1.1.1", "cache miss key 3"]))
    assert later.is_new().to_pylist() == [0, 0]
    assert later.cluster_ids().to_pylist() == [0, 1]


def test_restore_refuses_bad_or_foreign_snapshots() -> None:
    miner = TemplateMiner(DrainConfig())
    good = miner.snapshot()
    with pytest.raises(SnapshotError, match="not JSON"):
        miner.restore(b"{not json")
    with pytest.raises(SnapshotError, match="not a sluice-drain/1"):
        miner.restore(b'{"format": "other"}')
    with pytest.raises(SnapshotError, match="other clustering settings"):
        TemplateMiner(NO_MASKS).restore(good)
    broken = good.replace(b'"tree":{}', b'"tree":{"2":{"l":[5]}}')
    with pytest.raises(SnapshotError, match="cluster 5"):
        miner.restore(broken)


def test_bad_input_is_refused_before_any_clustering() -> None:
    miner = TemplateMiner(NO_MASKS)
    with pytest.raises(ValueError, match="1 nulls"):
        miner.mine(pa.array(["a", None]))
    with pytest.raises(ValueError, match="must be strings"):
        miner.mine(pa.array([1, 2]))
    assert miner.cluster_count() == 0 and miner.lines == 0


def test_empty_lines_and_chunked_input() -> None:
    miner = TemplateMiner(NO_MASKS)
    mined = miner.mine(pa.chunked_array([["", "  "], ["a b"]]))
    assert mined.patterns().to_pylist() == ["", "", "a b"]  # one cluster: no tokens
    assert mined.cluster_ids().to_pylist() == [0, 0, 1]


def test_the_cluster_bound_fails_clearly() -> None:
    miner = TemplateMiner(DrainConfig(variables=(), max_clusters=2))
    with pytest.raises(TooManyClusters, match="reached 2 clusters"):
        miner.mine(pa.array(["a", "b c", "d e f"]))


def test_tokenizer_keeps_the_text_around_tokens() -> None:
    tokens, gaps = Tokenizer(r"[\s,]").split(", a,, b ")
    assert tokens == ["a", "b"] and gaps == [", ", ",, ", " "]
    assert Tokenizer(r"\s").split("") == ([], [""])


def test_big_batches_are_masked_in_parallel_pieces_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sluice.runtime.mining import masking

    lines = pa.array([f"req {i} from 10.0.0.{i % 7} took {i * 3}ms" for i in range(100)])
    whole = Masker(DrainConfig().variables, False, 1000).mask(lines)
    monkeypatch.setattr(masking, "MIN_PIECE", 7)
    parallel = Masker(DrainConfig().variables, False, 1000)
    parallel._workers = 3
    assert parallel.mask(lines).equals(whole)
    assert whole[5].as_py() == "req #NUMBER# from #IP# took #NUMBER#ms"


@pytest.mark.parametrize("st", [0.5, 0.75, 0.875, 1.0])
def test_the_exact_index_answers_as_the_leaf_scan_would(
    st: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    from sluice.runtime.mining import drain

    rng = random.Random(7)
    words = ["a", "b", "c", "d", "x1", "y2", WILDCARD]
    lines = [[rng.choice(words) for _ in range(rng.randint(0, 9))] for _ in range(3000)]

    def run() -> list[tuple[int, bool, str]]:
        tree = DrainTree("05", st=st, depth=4, max_child=4, max_clusters=10_000)
        out = []
        for tokens in lines:
            cluster, created = tree.add(tokens, [""] + [" "] * len(tokens))
            out.append((cluster.id, created, cluster.pattern()))
        return out

    fast = run()
    original = drain._Node.hold

    def scan_only(self: drain._Node, cluster: drain.Cluster) -> None:
        original(self, cluster)
        self.wild = True

    monkeypatch.setattr(drain._Node, "hold", scan_only)
    assert run() == fast


def test_one_batch_and_line_by_line_give_the_same_clusters() -> None:
    from bench.gen import events

    messages = [str(ev.record["message"]) for ev in events(1500, seed=3)]
    truth = [ev.template for ev in events(1500, seed=3)]
    batch = TemplateMiner(DrainConfig())
    whole = batch.mine(pa.array(messages)).cluster_ids().to_pylist()
    single = TemplateMiner(DrainConfig())
    one_by_one = [single.mine(pa.array([m])).cluster_ids()[0].as_py() for m in messages]
    assert whole == one_by_one
    assert batch.templates() == single.templates()
    assert len(set(zip(whole, truth, strict=True))) == len(set(truth)) == len(set(whole))
