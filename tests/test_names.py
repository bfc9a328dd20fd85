"""Naming a job (jobs/names.py), over records built in memory: the forms of JOB, their order,
ambiguity, and the rules for --name labels. Property-based where the text is the user's."""

from __future__ import annotations

import os
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobwaiter.errors import UsageError
from jobwaiter.jobs.names import (
    MAX_LABEL,
    check_label,
    label_note,
    label_problem,
    records_to_read,
    resolve_job,
)
from jobwaiter.records import JobRecord

SETTINGS = settings(max_examples=int(os.environ.get("JW_HYPOTHESIS_EXAMPLES", "25")) * 8,
                    deadline=None)

hex12 = st.text(alphabet="0123456789abcdef", min_size=12, max_size=12)
valid_label = st.text(min_size=1, max_size=24).filter(lambda s: label_problem(s) is None)


def rec(name: str, label: str | None = None, cluster: str = "test", started: float | None = 0.0,
        **meta: object) -> JobRecord:
    if not name.startswith("jobwaiter-"):
        name = f"jobwaiter-{name}"
    m: dict[str, object] = {"cluster": cluster, "created_at": started or 0.0, **meta}
    if label is not None:
        m["label"] = label
    return JobRecord(name, meta=m, started_at=started)


A = rec("abcd00000001", "train", started=100.0)
B = rec("abcd00000002", started=200.0)
C = rec("f00d00000003", "eval", started=300.0, cluster="other")
RECORDS = [A, B, C]


def test_each_form_in_order() -> None:
    assert resolve_job("jobwaiter-abcd00000001", RECORDS, "test") is A
    assert resolve_job("train", RECORDS, "test") is A
    assert resolve_job("abcd00000002", RECORDS, "test") is B
    assert resolve_job("f00d", RECORDS, "test") is C
    assert resolve_job("jobwaiter-f00d", RECORDS, "test") is C
    assert resolve_job("F00D", RECORDS, "test") is C, "hex digits in any case"
    # @last: the newest of this config's cluster, not the newest on the node.
    assert resolve_job("@last", RECORDS, "test") is B
    assert resolve_job("@last", RECORDS, "other") is C


def test_a_label_comes_before_a_prefix() -> None:
    """A record whose label is another job's prefix (written before labels were checked, or
    by hand) is found by its label: the order is name, label, prefix, @last."""
    legacy = rec("0123456789ab", "abcd", started=50.0)
    assert resolve_job("abcd", [*RECORDS, legacy], "test") is legacy
    with pytest.raises(UsageError, match="ambiguous"):
        resolve_job("abcd0", [*RECORDS, legacy], "test")


def test_ambiguous_lists_every_match_on_one_line() -> None:
    with pytest.raises(UsageError) as exc:
        resolve_job("abcd", RECORDS, "test")
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith("job 'abcd' is ambiguous: ")
    # Newest first, each with its start time and state.
    assert message.index(B.name) < message.index(A.name)
    assert f"{A.name} (started 1970-01-01 00:01:40 UTC, lost)" in message


def test_a_label_given_again_names_the_running_job_else_the_newest() -> None:
    twin = rec("0000aaaaaaaa", "train", started=150.0)
    # Neither runs: the newest, and a note names the other.
    assert resolve_job("train", [*RECORDS, twin], "test") is twin
    note = label_note("train", [*RECORDS, twin], twin)
    assert note.startswith(f"'train' names {twin.name} (started ") and A.name in note
    # The one that runs, however old.
    running = replace(A, wrapper_alive=True)
    assert resolve_job("train", [running, B, twin], "test") is running
    # Several run: the newest of those running.
    newer = replace(rec("0000bbbbbbbb", "train", started=120.0), wrapper_alive=True)
    assert resolve_job("train", [running, newer, twin], "test") is newer
    assert label_note("train", [A, B], A) == "" and label_note("abcd0", [A], A) == ""


def test_many_matches_are_cut_short() -> None:
    many = [rec(f"beef{i:08x}", started=float(i)) for i in range(15)]
    with pytest.raises(UsageError, match=r", and 5 more; name one by"):
        resolve_job("beef", many, "test")


@pytest.mark.parametrize(("text", "error"), [
    ("abc", "too short: give at least 4 of the 12 hex digits"),
    ("jobwaiter-abc", "too short"),
    ("jobwaiter-000000000000", "no job jobwaiter-000000000000 on the head of cluster test"),
    ("dead", "no job 'dead' on the head"),
    ("nope", "no job 'nope' on the head of cluster test (no session name, label or prefix"),
    ("x; rm -rf ~", "no job 'x; rm -rf ~'"),
    ("@first", "unknown job reference '@first': the only one is @last"),
    ("", "not a job: ''"),
    ("a\nb", "not a job"),
    ("0123456789abc", "not a job"),  # 13 hex digits: longer than a name
    ("jobwaiter-", "not a job"),
])
def test_what_names_nothing(text: str, error: str) -> None:
    with pytest.raises(UsageError, match=re.escape(error)):
        resolve_job(text, RECORDS, "test")


def test_last_without_a_job_of_this_cluster() -> None:
    with pytest.raises(UsageError, match=r"no job of cluster elsewhere on 10.0.0.6 \(@last\)"):
        resolve_job("@last", RECORDS, "elsewhere", "10.0.0.6")


def test_last_uses_the_creation_time_of_a_job_that_never_started() -> None:
    unstarted = JobRecord("jobwaiter-999999999999", meta={"cluster": "test",
                                                          "created_at": 500.0})
    assert resolve_job("@last", [*RECORDS, unstarted], "test") is unstarted


def test_a_full_name_reads_one_record_and_anything_else_all() -> None:
    assert records_to_read("jobwaiter-abcd00000001") == ["jobwaiter-abcd00000001"]
    assert records_to_read("abcd") is None
    assert records_to_read("@last") is None
    assert records_to_read("train") is None


@pytest.mark.parametrize("label", [
    "train", "nightly etl", "run #3", "ünïcödé", "z" * MAX_LABEL, "x'y\"z", "$(touch pwned)",
    "`id`", "g00d", "1.5", "abcd-1",
])
def test_labels_accepted(label: str) -> None:
    assert check_label(label) == label


@pytest.mark.parametrize(("label", "why"), [
    ("", "empty"),
    ("z" * (MAX_LABEL + 1), f"at most {MAX_LABEL}"),
    ("   ", "starts or ends with a space"),
    (" train", "starts or ends with a space"),
    ("a\nb", "not printable"),
    ("a\tb", "not printable"),
    ("\x1b[2J", "not printable"),
    ("a\u00a0b", "not printable"),
    ("a\u202eb", "not printable"),
    (os.fsdecode(b"caf\xe9"), "not UTF-8"),
    ("@last", "leading '@'"),
    ("-f", "leading '-'"),
    ("jobwaiter-abcd", "session name"),
    ("JobWaiter-x", "session name"),
    ("abcd", "hex digits only"),
    ("2024", "hex digits only"),
    ("CAFE", "hex digits only"),
    ("1", "hex digits only"),
])
def test_labels_refused(label: str, why: str) -> None:
    with pytest.raises(UsageError, match=re.escape(why)):
        check_label(label)


@st.composite
def node(draw: st.DrawFn) -> list[JobRecord]:
    """Records of one node: distinct names, sometimes shared labels (and a label like a
    prefix, as a record written by hand could hold), two clusters."""
    names = draw(st.lists(hex12, min_size=1, max_size=12, unique=True))
    labels = draw(st.lists(st.one_of(st.none(), valid_label, st.sampled_from(["x", "y", "ab12"])),
                           min_size=len(names), max_size=len(names)))
    clusters = draw(st.lists(st.sampled_from(["test", "other"]), min_size=len(names),
                             max_size=len(names)))
    starts = draw(st.lists(st.floats(0, 1e9), min_size=len(names), max_size=len(names)))
    return [rec(n, lab, c, s) for n, lab, c, s in zip(names, labels, clusters, starts,
                                                         strict=True)]


@SETTINGS
@given(records=node(), data=st.data())
def test_a_unique_prefix_always_finds_its_job(records: list[JobRecord],
                                              data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(records))
    digits = target.name.removeprefix("jobwaiter-")
    k = data.draw(st.integers(4, 12))
    prefix = digits[:k]
    text = data.draw(st.sampled_from([prefix, f"jobwaiter-{prefix}", prefix.upper()]))
    sharing = [r for r in records if r.name.removeprefix("jobwaiter-").startswith(prefix)]
    if len(sharing) == 1:
        assert resolve_job(text, records, "test") is target
    else:
        with pytest.raises(UsageError, match="is ambiguous") as exc:
            resolve_job(text, records, "test")
        assert all(r.name in str(exc.value) for r in sharing[:10])


@SETTINGS
@given(records=node(), data=st.data())
def test_a_label_always_finds_its_job_or_says_it_is_shared(records: list[JobRecord],
                                                           data: st.DataObject) -> None:
    labelled = [r for r in records if r.label]
    if not labelled:
        return
    target = data.draw(st.sampled_from(labelled))
    sharing = [r for r in records if r.label == target.label]
    found = resolve_job(str(target.label), records, "test")
    if len(sharing) == 1:
        assert found is target
    else:
        # Never ambiguous: the running one, else the newest running, else the newest.
        running = [r for r in sharing if r.running]
        assert found in (running or sharing)
        assert all(_newness(found) >= _newness(r) for r in (running or sharing))


def _newness(record: JobRecord) -> tuple[float, float, str]:
    made = record.meta.get("created_at")
    started = record.started_at if record.started_at is not None else made
    return (float(started or 0.0), float(made or 0.0), record.name)  # type: ignore[arg-type]


def _names(text: str, record: JobRecord, records: list[JobRecord], cluster: str) -> bool:
    """Whether ``text`` names ``record`` by the first form that matches anything."""
    if record.name == text:
        return True
    with_label = [r for r in records if r.label == text]
    if with_label:
        # The running one, else the newest running, else the newest of them.
        running = [r for r in with_label if r.running]
        pool = running or with_label
        return record in pool and all(_newness(record) >= _newness(r) for r in pool)
    m = re.fullmatch(r"(?:jobwaiter-)?([0-9a-fA-F]{4,12})", text)
    if m:
        digits = m.group(1).lower()
        sharing = [r for r in records if r.name[len("jobwaiter-"):].startswith(digits)]
        return sharing == [record]
    if text == "@last":
        mine = [r for r in records if r.meta["cluster"] == cluster]
        return bool(mine) and record.started_at == max(r.started_at or 0 for r in mine)
    return False


@SETTINGS
@given(records=node(), data=st.data())
def test_a_text_never_finds_a_wrong_job(records: list[JobRecord], data: st.DataObject) -> None:
    """Whatever is typed: either an error (UsageError, never anything else), or the one job
    the text names."""
    near = [text for r in records for text in (r.name, r.name[:14], r.name[-5:], r.label or "")]
    text = data.draw(st.one_of(
        st.text(max_size=16),
        st.text(alphabet="0123456789abcdefABCDEF-jobwaiter@", max_size=24),
        st.sampled_from([*near, "@last", "@", "jobwaiter-"]),
        st.sampled_from(near).flatmap(lambda t: st.tuples(st.just(t), st.text(max_size=2)))
        .map(lambda p: p[0] + p[1]),
    ))
    cluster = data.draw(st.sampled_from(["test", "other", "none"]))
    try:
        found = resolve_job(text, records, cluster)
    except UsageError:
        assert not any(_names(text, r, records, cluster) for r in records)
        return
    assert _names(text, found, records, cluster), (text, found)


@SETTINGS
@given(label=valid_label, records=node())
def test_a_label_is_never_read_as_another_form(label: str, records: list[JobRecord]) -> None:
    """An accepted label cannot name a job by session name, prefix or @reference: among
    records without that label, it names nothing."""
    others = [r for r in records if r.label != label]
    with pytest.raises(UsageError, match="no job"):
        resolve_job(label, others, "test")


@SETTINGS
@given(text=st.one_of(st.text(), st.binary(max_size=40).map(os.fsdecode)))
def test_check_label_accepts_or_refuses_cleanly(text: str) -> None:
    try:
        assert check_label(text) == text
    except UsageError as exc:
        assert "\n" not in str(exc)
        return
    assert text.isprintable() and text.strip() == text and 0 < len(text) <= MAX_LABEL
