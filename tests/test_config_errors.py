"""A bad config file is reported whole: every problem, each with its key, its line and, for an
unknown key, the key probably meant; exit 2 and nothing run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobwaiter.cluster.config import load_config, validate_config
from jobwaiter.errors import ConfigError, UsageError

BAD = """\
cluster_name: Bad_Name
provider:
  type: ssh
  hed_ip: 10.0.0.1
  worker_ips:
    - 10.0.0.2
    - b@d
    - 10.0.0.3
    - c d
auth:
  ssh_usr: me
  ssh_port: twenty-two
  ssh_options:
    Port: 22
    ControlPath: /tmp/x
head_stop_comands:
  - echo bye
worker_start_commands: echo hi
runtime:
  types: [spark, sprak]
  spark:
    web_ui_port: 70000
    rest_port: 0
"""

# In the order of the file; every line number is the line of the key (or list item) at fault,
# or of the section that lacks a required key.
BAD_PROBLEMS = [
    "line 1: cluster_name: 'Bad_Name' must be lowercase letters, digits and '-'",
    "line 2: provider.head_ip: required key is missing",
    "line 4: provider.hed_ip: unknown key; did you mean head_ip?",
    "line 7: provider.worker_ips: [1]: 'b@d' is not a host, host:port or [ipv6]:port",
    "line 9: provider.worker_ips: [3]: 'c d' is not a host, host:port or [ipv6]:port",
    "line 11: auth.ssh_usr: unknown key; did you mean ssh_user?",
    "line 12: auth.ssh_port: Input should be a valid integer, unable to parse string as an "
    "integer",
    "line 14: auth.ssh_options: Port cannot be set here: use auth.ssh_port or host:port",
    "line 15: auth.ssh_options: ControlPath cannot be set here: jobwaiter manages its own "
    "master connections",
    "line 16: head_stop_comands: unknown key; did you mean head_stop_commands?",
    "line 18: worker_start_commands: Input should be a valid list",
    "line 20: runtime.types: unknown runtime 'sprak' (available: ray, slurm, spark, yarn); did you "
    "mean spark?",
    "line 22: runtime.spark: web_ui_port must be a port number (1-65535), not 70000",
    "line 23: runtime.spark: rest_port must be a port number (1-65535), not 0",
]


def test_every_problem_is_listed_in_file_order(env, cli) -> None:  # type: ignore[no-untyped-def]
    path = env.write_config(BAD, "bad.yaml")
    r = cli("exec", str(path), "touch ~/ran")
    assert r.code == 2
    assert "Traceback" not in r.err
    lines = r.err.rstrip("\n").split("\n")
    assert lines[0] == f"jobwaiter: error: {path}: {len(BAD_PROBLEMS)} problems:"
    assert lines[1:] == [f"  {p}" for p in BAD_PROBLEMS]
    assert r.out == ""
    assert not (env.home / "ran").exists()
    assert not env.jobs.exists()


def test_the_problems_are_data_on_the_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert isinstance(err, UsageError)
    assert err.problems == BAD_PROBLEMS
    assert err.source == str(path)
    assert str(err).splitlines()[1:] == [f"  {p}" for p in BAD_PROBLEMS]


def test_one_problem_is_one_line_with_its_line(env, cli) -> None:  # type: ignore[no-untyped-def]
    path = env.write_config("cluster_name: ok\nprovider:\n  type: local\n  zone: x\n")
    r = cli("exec", str(path), "true")
    assert r.code == 2
    assert r.err == f"jobwaiter: error: {path}: line 4: provider.zone: unknown key\n"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == ["line 4: provider.zone: unknown key"]


GOOD = "cluster_name: ok\nprovider:\n  type: local\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (GOOD + "head_stop_comands: []\n",
         "line 4: head_stop_comands: unknown key; did you mean head_stop_commands?"),
        (GOOD + "Cluster_Name: x\n", "line 4: Cluster_Name: unknown key; did you mean "
         "cluster_name?"),
        (GOOD + "workers_start_commands: []\n", "line 4: workers_start_commands: unknown key; "
         "did you mean worker_start_commands?"),
        (GOOD + "colour: blue\n", "line 4: colour: unknown key"),  # nothing close: no guess
        (GOOD + "auth:\n  known_host_file: ~/kh\n",
         "line 5: auth.known_host_file: unknown key; did you mean known_hosts_file?"),
        ("cluster_name: ok\nprovider:\n  type: lcoal\n",
         "line 3: provider.type: unknown provider type 'lcoal' (expected local or ssh); did "
         "you mean local?"),
        (GOOD + "runtime:\n  types: [spark]\n  sprak: {}\n",
         "line 6: runtime.sprak: unknown key; did you mean spark?"),
        (GOOD + "runtime:\n  types: [spark]\n  spark:\n    master_prot: 7000\n",
         "line 7: runtime.spark.master_prot: unknown key; did you mean master_port?"),
        (GOOD + "runtime:\n  types: [ray]\n  ray:\n    dashbord_port: 1\n",
         "line 7: runtime.ray.dashbord_port: unknown key; did you mean dashboard_port?"),
        (GOOD + "runtime:\n  types: [slurm]\n  slurm:\n    slurm_config: /x\n",
         "line 7: runtime.slurm.slurm_config: unknown key; did you mean slurm_conf?"),
        (GOOD + "runtime:\n  typs: [ray]\n", "line 5: runtime.typs: unknown key; did you "
         "mean types?"),
    ],
)
def test_unknown_keys_at_every_level_say_what_was_meant(tmp_path: Path, text: str,
                                                         problem: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [problem]
    assert str(info.value) == f"{path}: {problem}"


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        # Missing keys: the section that lacks one (no line for the top level).
        ("provider:\n  type: ssh\n", ["cluster_name: required key is missing",
                                      "line 1: provider.head_ip: required key is missing"]),
        ("cluster_name: ok\nprovider: {}\n",
         ["line 2: provider.type: required key is missing (local or ssh)"]),
        # A section that is not a mapping says what YAML made of it.
        ("cluster_name: ok\nprovider:\nauth: x\n",
         ["line 2: provider: expected a mapping (key: value lines), got nothing (an empty "
          "value)", "line 3: auth: expected a mapping (key: value lines), got the string 'x'"]),
        # List items by index, at their own lines.
        (GOOD + "head_start_commands:\n  - ok\n  - 3\n  - {a: b}\n",
         ["line 6: head_start_commands[1]: Input should be a valid string",
          "line 7: head_start_commands[2]: Input should be a valid string"]),
        # A key YAML does not read as a string (yes: a boolean, 7: a number).
        (GOOD + "7: x\n", ["line 4: key '7' is not a string: YAML reads it as a number "
                           "(quote it)"]),
        (GOOD + "auth:\n  ssh_options:\n    on: x\n",
         ["line 6: auth.ssh_options: key 'on' is not a string: YAML reads it as a boolean "
          "(quote it)"]),
        # Several bad values of one runtime's settings: each at its key.
        (GOOD + "runtime:\n  types: [ray]\n  ray:\n    num_cpus: -1\n    gcs_port: 0\n"
                "    temp_dir: rel\n",
         ["line 8: runtime.ray: gcs_port must be a port number (1-65535), not 0",
          "line 7: runtime.ray: num_cpus must not be negative",
          "line 9: runtime.ray: temp_dir must be an absolute path of at most 60 characters "
          "(Ray puts unix sockets in it)"]),
        # A check between keys points at the key it names, or at the section when that key is
        # not in the file.
        (GOOD + "runtime:\n  types: [ray]\n  ray:\n    max_worker_port: 5\n",
         ["line 6: runtime.ray: min_worker_port must not be above max_worker_port"]),
        (GOOD + "runtime:\n  types: [spark, sprak, rai]\n",
         ["line 5: runtime.types: unknown runtime 'sprak' (available: ray, slurm, spark, yarn); "
          "did you mean spark?",
          "line 5: runtime.types: unknown runtime 'rai' (available: ray, slurm, spark, yarn); "
          "did you mean ray?"]),
        (GOOD + "runtime:\n  types: []\n  spark: {}\n  ray: {}\n",
         ["line 6: runtime: has a spark section but 'spark' is not in runtime.types",
          "line 7: runtime: has a ray section but 'ray' is not in runtime.types"]),
    ],
)
def test_every_kind_of_problem_has_its_place(tmp_path: Path, text: str,
                                             problems: list[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    # Sorted by line; within a line (and without one) in the order the schema checks them.
    assert sorted(info.value.problems) == sorted(problems)
    lines = [int(p.split(":")[0].removeprefix("line ")) if p.startswith("line ") else 0
             for p in info.value.problems]
    assert lines == sorted(lines)


def test_a_config_given_as_data_has_no_lines() -> None:
    data = {"cluster_name": "ok", "provider": {"type": "local", "zone": 1}, "colur": 1}
    with pytest.raises(ConfigError) as info:
        validate_config(data, source="api")
    assert info.value.problems == ["provider.zone: unknown key", "colur: unknown key"]
    assert str(info.value) == ("api: 2 problems:\n  provider.zone: unknown key\n"
                               "  colur: unknown key")
    with pytest.raises(ConfigError) as info:
        validate_config({**data, "provider": {"type": "local"}, "colur": None, 7: 1})
    assert info.value.problems == ["colur: unknown key", "key '7' is not a string (quote it)"]


def test_an_overridden_cluster_name_blames_no_line(env, cli) -> None:  # type: ignore[no-untyped-def]
    path = env.write_config(GOOD + "colour: x\n")
    r = cli("start", str(path), "-n", "Not_Valid")
    assert r.code == 2
    assert r.err.splitlines()[1:] == [
        "  cluster_name: 'Not_Valid' must be lowercase letters, digits and '-' (from "
        "--cluster-name)",
        "  line 4: colour: unknown key",
    ]


def test_odd_keys_are_quoted_so_each_problem_stays_one_line() -> None:
    data = {"cluster_name": "ok", "provider": {"type": "local"}, "a\nb": 1, "c d": 2}
    with pytest.raises(ConfigError) as info:
        validate_config(data, source="c")
    assert sorted(info.value.problems) == ["'a\\nb': unknown key", "'c d': unknown key"]


# -- properties --------------------------------------------------------------------------------

KNOWN = {"cluster_name", "provider", "auth", "head_start_commands", "head_stop_commands",
         "worker_start_commands", "worker_stop_commands", "runtime", "type", "head_ip",
         "worker_ips", "ssh_user", "ssh_private_key", "ssh_port", "known_hosts_file",
         "connect_timeout", "ssh_options"}
#: Words YAML 1.1 reads as booleans or null are not string keys (another test covers them).
NOT_STRINGS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True).filter(
    lambda k: k not in KNOWN and k not in NOT_STRINGS)


@settings(max_examples=60, deadline=None)
@given(top=st.lists(KEYS, unique=True, max_size=4),
       provider=st.lists(KEYS, unique=True, max_size=4),
       auth=st.lists(KEYS, unique=True, max_size=4))
def test_every_unknown_key_is_reported_once_at_its_line(top: list[str], provider: list[str],
                                                        auth: list[str]) -> None:
    lines = ["cluster_name: ok", "provider:", "  type: local"]
    expected = []
    for key in provider:
        lines.append(f"  {key}: 1")
        expected.append((len(lines), f"provider.{key}"))
    lines.append("auth:")
    lines.append("  ssh_user: me")
    for key in auth:
        lines.append(f"  {key}: [1, 2]")
        expected.append((len(lines), f"auth.{key}"))
    for key in top:
        lines.append(f"{key}: x")
        expected.append((len(lines), key))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text("\n".join(lines) + "\n")
        if not expected:
            load_config(path)
            return
        with pytest.raises(ConfigError) as info:
            load_config(path)
    found = info.value.problems
    assert len(found) == len(expected)
    for (line, key), problem in zip(sorted(expected), found, strict=True):
        assert problem.startswith(f"line {line}: {key}: unknown key"), (problem, line, key)


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
SECTIONS = st.sampled_from(["cluster_name", "provider", "auth", "runtime",
                            "head_start_commands", "worker_stop_commands", "extra key"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(section=SECTIONS, value=VALUES, runtime=st.dictionaries(
    st.sampled_from(["types", "spark", "ray", "slurm", "other"]), VALUES, max_size=3))
def test_any_data_is_accepted_or_reported_one_line_per_problem(section: str, value: object,
                                                               runtime: dict) -> None:  # type: ignore[type-arg]
    data = {"cluster_name": "ok", "provider": {"type": "local"}, "runtime": runtime,
            section: value}
    try:
        validate_config(data, source="c.yaml")
    except ConfigError as exc:
        assert exc.problems
        assert all(p and "\n" not in p and "\r" not in p for p in exc.problems), exc.problems
        assert len(str(exc).splitlines()) == (1 if len(exc.problems) == 1
                                              else 1 + len(exc.problems))


ODD_KEYS = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none(),
                     st.sampled_from(sorted(KNOWN)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(top=st.dictionaries(ODD_KEYS, VALUES, max_size=3),
       provider=st.dictionaries(ODD_KEYS, VALUES, max_size=3),
       runtime=st.dictionaries(ODD_KEYS | st.sampled_from(["spark", "ray", "slurm"]),
                               VALUES, max_size=3))
def test_any_yaml_file_is_accepted_or_reported_one_line_per_problem(
        top: dict, provider: dict, runtime: dict) -> None:  # type: ignore[type-arg]
    """Through the file path: lines come from the YAML nodes, whatever the keys are."""
    data = {"cluster_name": "ok", "provider": {"type": "local", **provider},
            "runtime": runtime, **top}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(yaml.safe_dump(data))
        lines = len(path.read_text().splitlines())
        try:
            load_config(path)
        except ConfigError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert problem and len(problem.splitlines()) == 1, exc.problems
                if problem.startswith("line "):
                    assert 1 <= int(problem.split(":")[0].removeprefix("line ")) <= lines


def test_the_readme_example_is_what_jobwaiter_prints(env, cli) -> None:  # type: ignore[no-untyped-def]
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start = readme.index("```text\njobwaiter: error: cluster.yaml: 3 problems:")
    shown = readme[start:].split("\n```", 1)[0].split("\n")[1:]
    env.write_config("cluster_name: demo\nprovider:\n  type: ssh\n  hed_ip: 10.0.0.5\n"
                     "auth:\n  ssh_user: me\nhead_start_commands:\n  - echo hi\n"
                     "head_stop_comands:\n  - echo bye\n")
    r = cli("exec", "cluster.yaml", "true")  # the test's HOME is the current directory
    assert r.code == 2
    assert r.err.splitlines() == shown


def test_a_runtime_settings_class_reports_every_bad_value() -> None:
    from jobwaiter.runtimes import SettingsError
    from jobwaiter.runtimes.slurm.settings import SlurmSettings
    from jobwaiter.runtimes.spark.settings import SparkSettings

    with pytest.raises(SettingsError) as info:
        SparkSettings(master_port=0, worker_cores=0, python=" ")
    assert info.value.problems == [
        ("master_port", "master_port must be a port number (1-65535), not 0"),
        ("worker_cores", "worker_cores must be at least 1"),
        ("python", "python must be a non-empty value without spaces"),
    ]
    assert isinstance(info.value, ValueError)  # what the runtimes' own callers catch
    with pytest.raises(ValueError) as error:
        SlurmSettings(start_timeout=0, bin_dir="")
    assert str(error.value) == "start_timeout must be positive; bin_dir must not be empty"
