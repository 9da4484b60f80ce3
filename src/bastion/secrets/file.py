"""Secrets as one 0600 file per name in a 0700 directory owned by the current user.

Reads go through ``O_NOFOLLOW`` descriptors and ``fstat`` so the checks apply to the
very file that is read (no check-then-open race); writes go to a temporary file in
the same directory that is then renamed (overwrite) or hard-linked (create only, so
two writers cannot clobber each other).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets as stdlib_secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from bastion.core.errors import SecretError
from bastion.secrets.base import SecretProvider

DIR_MODE = 0o700
FILE_MODE = 0o600
MAX_SECRET_BYTES = 1 << 20
_INSECURE_BITS = 0o077


def _mode_text(mode: int) -> str:
    return oct(stat.S_IMODE(mode))[2:].zfill(4)


class FileSecretProvider(SecretProvider):
    """One file per secret under ``directory``; refuses anything others could read or swap."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def describe(self) -> str:
        return f"secret files in {self.directory}"

    def missing_hint(self, name: str) -> str:
        return f"run `bastion keys init` or create {self.directory / name} with mode 0600"

    # Checks ------------------------------------------------------------------------
    def _check_dir(self, fd: int) -> None:
        info = os.fstat(fd)
        if not stat.S_ISDIR(info.st_mode):
            raise SecretError(f"{self.directory} is not a directory; point secrets.file_dir at one")
        self._check_owner_and_mode(info, self.directory, "700")

    def _check_file(self, fd: int, path: Path) -> None:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretError(f"secret file {path} is not a regular file; replace it with one")
        self._check_owner_and_mode(info, path, "600")
        if info.st_size > MAX_SECRET_BYTES:
            raise SecretError(f"secret file {path} is larger than {MAX_SECRET_BYTES} bytes")

    @staticmethod
    def _check_owner_and_mode(info: os.stat_result, path: Path, wanted: str) -> None:
        if info.st_uid != os.geteuid():
            raise SecretError(
                f"{path} is owned by uid {info.st_uid}, not the current user "
                f"(uid {os.geteuid()}); refusing to trust it: chown it to this user"
            )
        if info.st_mode & _INSECURE_BITS:
            raise SecretError(
                f"{path} has mode {_mode_text(info.st_mode)}, accessible to group or others; "
                f"refusing to use it: run `chmod {wanted} {path}`"
            )

    @contextlib.contextmanager
    def _open_dir(self, *, create: bool) -> Iterator[int | None]:
        """A checked descriptor of the directory, or ``None`` if it is absent and not created."""
        if create and not os.path.lexists(self.directory):
            try:
                self.directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
                os.chmod(self.directory, DIR_MODE, follow_symlinks=False)
            except OSError as exc:
                raise SecretError(
                    f"cannot create secrets directory {self.directory}: {exc.strerror}"
                ) from None
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.directory, flags)
        except FileNotFoundError:
            yield None
            return
        except OSError as exc:
            if exc.errno == errno.ELOOP or self.directory.is_symlink():
                raise SecretError(
                    f"secrets directory {self.directory} is a symlink; refusing to follow it: "
                    "point secrets.file_dir at the real directory"
                ) from None
            if exc.errno == errno.ENOTDIR:
                raise SecretError(
                    f"{self.directory} is not a directory; point secrets.file_dir at one"
                ) from None
            raise SecretError(
                f"cannot open secrets directory {self.directory}: {exc.strerror}"
            ) from None
        try:
            self._check_dir(fd)
            yield fd
        finally:
            os.close(fd)

    # Backend -----------------------------------------------------------------------
    def _read(self, name: str) -> bytes | None:
        path = self.directory / name
        with self._open_dir(create=False) as dir_fd:
            if dir_fd is None:
                return None
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
            try:
                fd = os.open(name, flags, dir_fd=dir_fd)
            except FileNotFoundError:
                return None
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise SecretError(
                        f"secret file {path} is a symlink; refusing to follow it: "
                        "replace it with a regular 0600 file"
                    ) from None
                raise SecretError(f"cannot read secret file {path}: {exc.strerror}") from None
            try:
                self._check_file(fd, path)
                chunks = []
                while chunk := os.read(fd, 65536):
                    chunks.append(chunk)
            finally:
                os.close(fd)
        value = b"".join(chunks)
        if not value:
            raise SecretError(f"secret file {path} is empty; delete it and run `bastion keys init`")
        return value

    def _write(self, name: str, value: bytes, *, overwrite: bool) -> bool:
        path = self.directory / name
        with self._open_dir(create=True) as dir_fd:
            assert dir_fd is not None
            temp = f".{name}.{stdlib_secrets.token_hex(8)}.tmp"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            try:
                fd = os.open(temp, flags, FILE_MODE, dir_fd=dir_fd)
            except OSError as exc:
                raise SecretError(f"cannot write in {self.directory}: {exc.strerror}") from None
            try:
                try:
                    os.fchmod(fd, FILE_MODE)
                    view = memoryview(value)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                if overwrite:
                    os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                else:
                    try:
                        os.link(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                    except FileExistsError:
                        return False
                os.fsync(dir_fd)
                return True
            except OSError as exc:
                raise SecretError(f"cannot write secret file {path}: {exc.strerror}") from None
            finally:
                # Gone already after a rename; otherwise the temporary must not linger.
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=dir_fd)
