"""The file backend: 0700 directory, atomic 0600 files, and refusal of anything unsafe."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.core.errors import SecretError
from bastion.secrets import FileSecretProvider, SecretBytes

VALUE = b"\x00\x01binary-secret-hunter2\xff"


@pytest.fixture
def store(tmp_path: Path) -> FileSecretProvider:
    return FileSecretProvider(tmp_path / "home" / "secrets")


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Prove the modes come from the code, not from a strict umask."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_put_creates_private_directory_and_file(
    store: FileSecretProvider, permissive_umask: None
) -> None:
    assert store.put("k", VALUE) is True
    assert mode(store.directory) == 0o700
    assert mode(store.directory / "k") == 0o600
    assert (store.directory / "k").read_bytes() == VALUE
    value = store.get("k")
    assert value == VALUE and isinstance(value, SecretBytes)
    assert sorted(os.listdir(store.directory)) == ["k"]  # no temporary left behind


def test_never_overwrites_unless_asked(store: FileSecretProvider) -> None:
    assert store.put("k", b"first") is True
    assert store.put("k", b"second") is False
    assert store.get("k") == b"first"
    assert store.put("k", b"third", overwrite=True) is True
    assert store.get("k") == b"third"
    assert mode(store.directory / "k") == 0o600
    assert sorted(os.listdir(store.directory)) == ["k"]


def test_concurrent_creators_exactly_one_wins(store: FileSecretProvider) -> None:
    store.put("seed", b"x")
    results: dict[int, bool] = {}
    barrier = threading.Barrier(8)

    def create(index: int) -> None:
        barrier.wait()
        results[index] = store.put("raced", f"value-{index}".encode())

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [index for index, written in results.items() if written]
    assert len(winners) == 1
    assert store.get("raced") == f"value-{winners[0]}".encode()


def test_missing_directory_or_file_is_absent(store: FileSecretProvider) -> None:
    assert store.get_optional("k") is None
    assert not store.exists("k")
    assert not store.directory.exists()  # reading never creates anything
    with pytest.raises(SecretError) as info:
        store.get("audit-checkpoint")
    assert "'audit-checkpoint'" in str(info.value)
    assert "bastion keys init" in str(info.value)


@pytest.mark.parametrize("bad_mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o666])
def test_file_readable_or_writable_by_others_is_refused(
    store: FileSecretProvider, bad_mode: int
) -> None:
    store.put("k", VALUE)
    os.chmod(store.directory / "k", bad_mode)
    for call in (store.get, store.get_optional, store.exists):
        with pytest.raises(SecretError) as info:
            call("k")
        message = str(info.value)
        assert f"chmod 600 {store.directory / 'k'}" in message
        assert oct(bad_mode)[2:] in message
        assert "hunter2" not in message


@pytest.mark.parametrize("bad_mode", [0o755, 0o750, 0o711, 0o707])
def test_directory_open_to_others_is_refused(store: FileSecretProvider, bad_mode: int) -> None:
    store.put("k", VALUE)
    os.chmod(store.directory, bad_mode)
    with pytest.raises(SecretError, match=r"chmod 700"):
        store.get("k")
    with pytest.raises(SecretError, match=r"chmod 700"):
        store.put("other", b"v")
    assert not (store.directory / "other").exists()


def test_symlinked_secret_file_is_refused(store: FileSecretProvider, tmp_path: Path) -> None:
    store.put("real", VALUE)
    target = tmp_path / "elsewhere"
    target.write_bytes(b"attacker-controlled")
    os.chmod(target, 0o600)
    (store.directory / "k").symlink_to(target)
    (store.directory / "alias").symlink_to(store.directory / "real")
    for name in ("k", "alias"):
        with pytest.raises(SecretError, match="symlink"):
            store.get(name)


def test_symlinked_directory_is_refused(tmp_path: Path) -> None:
    real = FileSecretProvider(tmp_path / "real")
    real.put("k", VALUE)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    with pytest.raises(SecretError, match="symlink"):
        FileSecretProvider(link).get("k")
    with pytest.raises(SecretError, match="symlink"):
        FileSecretProvider(link).put("other", b"v")


def test_not_a_directory_and_not_a_regular_file(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("x")
    with pytest.raises(SecretError, match="not a directory"):
        FileSecretProvider(plain).get("k")
    store = FileSecretProvider(tmp_path / "dir")
    store.put("seed", b"v")
    os.mkfifo(store.directory / "fifo", 0o600)
    (store.directory / "sub").mkdir(mode=0o700)
    for name in ("fifo", "sub"):
        with pytest.raises(SecretError, match="not a regular file"):
            store.get(name)


def test_empty_file_is_refused(store: FileSecretProvider) -> None:
    store.put("seed", b"v")
    fd = os.open(store.directory / "k", os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    with pytest.raises(SecretError, match="empty"):
        store.get("k")


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_file_owned_by_someone_else_is_refused(store: FileSecretProvider) -> None:
    store.put("k", VALUE)
    os.chown(store.directory / "k", 12345, -1)
    with pytest.raises(SecretError, match="owned by uid 12345"):
        store.get("k")


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "K"])
def test_path_like_names_never_touch_the_filesystem(
    store: FileSecretProvider, tmp_path: Path, name: str
) -> None:
    with pytest.raises(SecretError, match="invalid secret name"):
        store.put(name, b"v")
    with pytest.raises(SecretError, match="invalid secret name"):
        store.get(name)
    assert not store.directory.exists()
    assert not (tmp_path / "home" / "escape").exists()


def test_values_must_be_non_empty_bytes(store: FileSecretProvider) -> None:
    with pytest.raises(SecretError, match="empty"):
        store.put("k", b"")
    with pytest.raises(SecretError, match="bytes"):
        store.put("k", "text")  # type: ignore[arg-type]


def test_describe_names_location_only(store: FileSecretProvider) -> None:
    store.put("k", VALUE)
    assert str(store.directory) in store.describe()
    assert "hunter2" not in store.describe() + repr(store)
