"""The ssh provider's config: hosts, keys and options are checked before any connection,
each problem one line naming the file and the key."""

from __future__ import annotations

import os

import pytest

from jobwaiter.cluster.config import validate_config
from jobwaiter.errors import ConfigError
from jobwaiter.transport.address import parse_host


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.5", ("10.0.0.5", None)),
        ("10.0.0.5:2222", ("10.0.0.5", 2222)),
        ("gpu-box", ("gpu-box", None)),
        ("node_1.example.org:22", ("node_1.example.org", 22)),
        ("fe80::1", ("fe80::1", None)),
        ("[fe80::1]", ("fe80::1", None)),
        ("[fe80::1]:2200", ("fe80::1", 2200)),
    ],
)
def test_hosts(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_host(text) == expected


@pytest.mark.parametrize(
    "text", ["", "-oProxyCommand=x", "a b", "user@host", "h:", "h:0", "h:65536", "h:x",
             "[fe80::1", "[fe80::1]x", "[nothex]:22", "a:b:c"],
)
def test_bad_hosts(text: str) -> None:
    with pytest.raises(ValueError):
        parse_host(text)


def ssh_config(**auth: object) -> dict[str, object]:
    return {"cluster_name": "lab", "auth": auth,
            "provider": {"type": "ssh", "head_ip": "10.0.0.5",
                         "worker_ips": ["10.0.0.6", "10.0.0.7:2222"]}}


def error(data: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as info:
        validate_config(data, source="lab.yaml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("lab.yaml: ")
    return message


def test_good_config_expands_paths(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    key = tmp_path / "id"
    key.write_text("k")
    key.chmod(0o600)
    config = validate_config(ssh_config(ssh_private_key="~/id", known_hosts_file="~/kh",
                                        ssh_user="ubuntu", ssh_options={"ProxyJump": "b"}))
    assert config.auth is not None
    assert config.auth.ssh_private_key == str(key)
    assert config.auth.known_hosts_file == str(tmp_path / "kh")
    assert config.auth.ssh_port is None  # ~/.ssh/config decides unless given


def test_key_problems(tmp_path) -> None:
    assert "auth.ssh_private_key: /nope: No such file" in error(ssh_config(
        ssh_private_key="/nope"))
    assert "not a file" in error(ssh_config(ssh_private_key=str(tmp_path)))
    key = tmp_path / "id"
    key.write_text("k")
    key.chmod(0o644)
    assert "permissions 0644 are too open" in error(ssh_config(ssh_private_key=str(key)))
    if os.getuid() != 0:  # root reads anything
        key.chmod(0o000)
        assert "not readable" in error(ssh_config(ssh_private_key=str(key)))


def test_option_problems() -> None:
    assert "is not an ssh option name" in error(ssh_config(ssh_options={"Bad-Name": 1}))
    assert "use auth.ssh_port" in error(ssh_config(ssh_options={"Port": 22}))
    assert "manages its own master" in error(ssh_config(ssh_options={"controlmaster": "no"}))
    assert "one non-empty line" in error(ssh_config(ssh_options={"ProxyJump": "a\nb"}))
    assert "refused" in error(ssh_config(ssh_options={"StrictHostKeyChecking": "off"}))


def test_host_problems() -> None:
    data = ssh_config()
    data["provider"] = {"type": "ssh", "head_ip": "10.0.0.5", "worker_ips": ["10.0.0.5"]}
    assert "provider: 10.0.0.5 is listed more than once" in error(data)
    data["provider"] = {"type": "ssh", "head_ip": "10.0.0.5", "worker_ips": ["ok", "b@d"]}
    assert "provider.worker_ips: [1]: 'b@d' is not a host" in error(data)
    data["provider"] = {"type": "ssh", "head_ip": "h:99999"}
    assert "provider.head_ip: 'h:99999': port must be" in error(data)
    assert "auth.ssh_user: '-x' is not a user name" in error(ssh_config(ssh_user="-x"))


def test_example_ssh_config_is_valid() -> None:
    from pathlib import Path

    from jobwaiter.cluster.config import load_config

    root = Path(__file__).resolve().parent.parent
    config = load_config(root / "examples" / "ssh.yaml")
    assert config.provider.type == "ssh" and config.worker_stop_commands
