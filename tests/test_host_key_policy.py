"""Host-key checking cannot be switched off: not by ssh_options, not by known_hosts_file,
not by ~/.ssh/config. The provider asks the real ``ssh -G`` what it would do."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from jobwaiter.cluster.config import validate_config
from jobwaiter.cluster.providers.ssh import SSHProvider, effective_settings, host_key_problem
from jobwaiter.errors import ConfigError, UsageError

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the ssh client")


def config(tmp_path: Path, **auth: object) -> dict[str, object]:
    return {"cluster_name": "t",
            "provider": {"type": "ssh", "head_ip": "10.1.2.3",
                         "worker_ips": ["10.1.2.4", "w5.example:2222"]},
            "auth": {"known_hosts_file": str(tmp_path / "kh"), **auth}}


@pytest.fixture
def user_ssh_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A private ~/.ssh/config. ssh reads the passwd entry's home, not $HOME, so an ``ssh`` on
    PATH passes the file with -F: jobwaiter's check and its connections both run it."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F "$HOME/.ssh/config" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def write(text: str) -> Path:
        path = home / ".ssh" / "config"
        path.write_text(text)
        return path

    write("")
    return write


@pytest.mark.parametrize("value", ["no", "No", "NO", "off", "OFF", "false", "False", "FALSE",
                                   "0", "1", "nope", "accept-new-ish", "yes please"])
def test_disabling_spellings_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=f"StrictHostKeyChecking={value} is refused"):
        validate_config(config(tmp_path, ssh_options={"StrictHostKeyChecking": value}))


@pytest.mark.parametrize("name", ["StrictHostKeyChecking", "stricthostkeychecking",
                                  "STRICTHOSTKEYCHECKING"])
def test_option_name_in_any_case(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="is refused"):
        validate_config(config(tmp_path, ssh_options={name: "false"}))


@pytest.mark.parametrize("value", ["yes", "Yes", "true", "TRUE", "ask", "accept-new",
                                   "Accept-New"])
def test_checking_spellings_are_allowed(tmp_path: Path, user_ssh_config, value: str) -> None:
    cfg = validate_config(config(tmp_path, ssh_options={"StrictHostKeyChecking": value}))
    SSHProvider(cfg).close()


@pytest.mark.parametrize("path", ["/dev/null", "none", "NONE"])
def test_known_hosts_file_that_keeps_nothing(tmp_path: Path, path: str) -> None:
    with pytest.raises(ConfigError, match=r"auth\.known_hosts_file: .* keeps no host keys"):
        validate_config(config(tmp_path, known_hosts_file=path))


def test_known_hosts_file_linked_to_dev_null(tmp_path: Path) -> None:
    link = tmp_path / "kh-link"
    link.symlink_to(os.devnull)
    with pytest.raises(ConfigError, match="keeps no host keys"):
        validate_config(config(tmp_path, known_hosts_file=str(link)))


@pytest.mark.parametrize(
    ("ssh_config", "fragment", "host"),
    [
        ("UserKnownHostsFile /dev/null\n", "UserKnownHostsFile is /dev/null", "10.1.2.3"),
        ("Host *\n  UserKnownHostsFile none\n", "UserKnownHostsFile is none", "10.1.2.3"),
        ("Host 10.1.2.4\n  UserKnownHostsFile /dev/null ~/.ssh/known_hosts\n",
         "UserKnownHostsFile is /dev/null", "10.1.2.4"),
        ("Host w5.example\n  UserKnownHostsFile /dev/null\n", "/dev/null", "w5.example:2222"),
        ("Match host 10.1.2.4\n  UserKnownHostsFile /dev/null\n", "/dev/null", "10.1.2.4"),
        ("NoHostAuthenticationForLocalhost yes\n", "NoHostAuthenticationForLocalhost",
         "10.1.2.3"),
        ("UserKnownHostsFile /tmp\n", "no key is ever remembered", "10.1.2.3"),
    ],
)
def test_user_ssh_config_that_disables_checking(tmp_path: Path, user_ssh_config,
                                                ssh_config: str, fragment: str,
                                                host: str) -> None:
    user_ssh_config(ssh_config)
    auth = config(tmp_path)["auth"]
    del auth["known_hosts_file"]  # type: ignore[attr-defined]
    data = {**config(tmp_path), "auth": auth}
    with pytest.raises(UsageError) as info:
        SSHProvider(validate_config(data))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"host {host}: ") and fragment in message, message


@pytest.mark.parametrize(
    "ssh_config",
    [
        # jobwaiter's -o StrictHostKeyChecking=accept-new comes first, so it wins.
        "StrictHostKeyChecking no\n",
        "Host *\n  StrictHostKeyChecking off\n",
        # auth.known_hosts_file is given with -o, so it wins over the file.
        "UserKnownHostsFile /dev/null\n",
        # A second, empty file is harmless: keys are remembered in the first.
        "UserKnownHostsFile ~/kh /dev/null\n",
    ],
)
def test_user_settings_that_jobwaiter_overrides(tmp_path: Path, user_ssh_config,
                                                ssh_config: str) -> None:
    user_ssh_config(ssh_config)
    data = config(tmp_path)
    if "~/kh" in ssh_config:
        del data["auth"]["known_hosts_file"]  # type: ignore[index]
    SSHProvider(validate_config(data)).close()


def test_broken_user_config_is_refused_not_ignored(tmp_path: Path, user_ssh_config) -> None:
    user_ssh_config("NoSuchKeyword yes\n")
    with pytest.raises(UsageError, match=r"host 10\.1\.2\.3: ssh -G rejected"):
        SSHProvider(validate_config(config(tmp_path)))


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ("stricthostkeychecking false\nuserknownhostsfile /k\n", "StrictHostKeyChecking"),
        ("userknownhostsfile /k\n", "unset"),
        ("stricthostkeychecking true\nuserknownhostsfile /dev/null /k\n", "/dev/null"),
        ("stricthostkeychecking true\n", "UserKnownHostsFile is none"),
        ("stricthostkeychecking ask\nuserknownhostsfile /k\n", None),
        ("stricthostkeychecking accept-new\nuserknownhostsfile /k /dev/null\n"
         "knownhostscommand /bin/true\n", None),
    ],
)
def test_host_key_problem(lines: str, problem: str | None) -> None:
    found = host_key_problem(effective_settings(lines))
    assert (found is None) if problem is None else (problem in (found or "")), found


@pytest.mark.parametrize("word", ["no", "off", "false", "No", "OFF", "False"])
def test_unquoted_yaml_words_are_read_as_ssh_means_them(tmp_path: Path, word: str) -> None:
    import yaml

    data = config(tmp_path, ssh_options=yaml.safe_load(f"{{StrictHostKeyChecking: {word}}}"))
    with pytest.raises(ConfigError, match="StrictHostKeyChecking=no is refused"):
        validate_config(data)
