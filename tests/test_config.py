"""Bad config files: one line naming the file, the key and the problem; exit 2; nothing run."""

from __future__ import annotations

import pytest

GOOD = "cluster_name: ok\nprovider:\n  type: local\n"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("provider:\n  type: local\n", "cluster_name: required key is missing"),
        ("cluster_name: Bad_Name\nprovider:\n  type: local\n", "cluster_name: 'Bad_Name' must be"),
        (GOOD + "colour: blue\n", "colour: unknown key"),
        ("cluster_name: ok\nprovider:\n  type: local\n  zone: x\n", "provider.zone: unknown key"),
        ("cluster_name: ok\nprovider:\n  type: cloud\n", "provider.type: unknown provider type"),
        ("cluster_name: ok\n", "provider: required key is missing"),
        (GOOD + "head_stop_commands: echo\n", "head_stop_commands: Input should be a valid list"),
        ("cluster_name: [unclosed\n", "invalid YAML (line"),
        ("- just\n- a list\n", "expected a mapping at the top level"),
    ],
)
def test_bad_config(env, cli, text: str, fragment: str) -> None:
    path = env.write_config(text, "bad.yaml")
    r = cli("exec", str(path), "touch ~/ran")
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert lines[0].startswith(f"jobwaiter: error: {path}: ")
    assert fragment in lines[0]
    assert not (env.home / "ran").exists()
    assert not env.jobs.exists()


def test_missing_config_file(env, cli) -> None:
    r = cli("exec", str(env.home / "nope.yaml"), "true")
    assert r.code == 2
    assert "nope.yaml: cannot read" in r.err


def test_cluster_name_override(env, cli) -> None:
    r = cli("start", str(env.config), "-n", "other-name")
    assert r.code == 0
    assert (env.home / ".jobwaiter" / "clusters" / "other-name.state").read_text() == "started\n"
    r = cli("start", str(env.config), "-n", "Not_Valid")
    assert r.code == 2
    assert "cluster_name" in r.err


def test_example_config_is_valid() -> None:
    from pathlib import Path

    from jobwaiter.cluster.config import load_config

    root = Path(__file__).resolve().parent.parent
    assert load_config(root / "examples" / "local.yaml").provider.type == "local"


@pytest.mark.parametrize(
    ("raw", "byte"),
    [(b"cluster_name: caf\xe9\n", 0xe9), (b"\xff\xfe", 0xff),
     (b"cluster_name: t\nprovider: {type: local}\n# \x80\n", 0x80),
     (b"cluster_name: \xc3\n", 0xc3)],
)
def test_non_utf8_config_is_one_line(env, cli, raw: bytes, byte: int) -> None:
    offset = raw.index(bytes([byte]))
    path = env.home / "bad.yaml"
    path.write_bytes(raw)
    r = cli("exec", str(path), "true")
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert lines == [f"jobwaiter: error: {path}: not UTF-8: byte 0x{byte:02x} at offset "
                     f"{offset}"], r.err
