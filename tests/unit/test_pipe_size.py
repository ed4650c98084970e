"""The NDJSON ends of a pipe widen it (ndjson.widen_pipe): a 64 KiB pipe made the ingest tools
take turns; a file, a larger pipe and a refusal by the kernel are left alone."""
import errno
import fcntl
import io
import os

import pytest

from slurm_scoreboard.core import ndjson
from slurm_scoreboard.core.ndjson import PIPE_SIZE, BatchWriter, line_blocks, widen_pipe

GET, SET = ndjson.pipe_commands() or (0, 0)


def pipe_size(fd: int) -> int:
    return fcntl.fcntl(fd, GET)


@pytest.fixture
def pipe():
    read_fd, write_fd = os.pipe()
    reader, writer = os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")
    yield reader, writer
    reader.close()
    writer.close()


def kernel_widens() -> bool:
    """Whether the kernel lets this account have a pipe of PIPE_SIZE (not above
    fs.pipe-max-size, nor past its fs.pipe-user-pages-soft, unless privileged)."""
    read_fd, write_fd = os.pipe()
    try:
        fcntl.fcntl(write_fd, SET, PIPE_SIZE)
        return True
    except OSError:
        return False
    finally:
        os.close(read_fd)
        os.close(write_fd)


widens = pytest.mark.skipif(
    not kernel_widens(), reason="the kernel gives this account no 1 MiB pipe (fs.pipe-max-size "
    "or fs.pipe-user-pages-soft); what the tools do then is tested by the refusal below")


@widens
def test_a_writer_widens_the_pipe_it_writes_to(pipe):
    reader, writer = pipe
    assert pipe_size(writer.fileno()) < PIPE_SIZE
    out = BatchWriter(writer)
    out.write({"user": "alice"})
    out.flush()
    assert pipe_size(writer.fileno()) == PIPE_SIZE
    assert reader.read1(100) == b'{"user":"alice"}\n'


@widens
def test_a_reader_widens_the_pipe_it_reads(pipe):
    reader, writer = pipe
    writer.write(b"one\ntwo\n")
    writer.close()
    assert list(line_blocks(reader, 100)) == [[b"one", b"two"]]
    assert pipe_size(reader.fileno()) == PIPE_SIZE


@widens
def test_a_full_pipe_holds_a_mebibyte_before_the_writer_waits(pipe):
    reader, writer = pipe
    widen_pipe(writer)
    os.set_blocking(writer.fileno(), False)
    written = 0
    with pytest.raises(BlockingIOError):
        while True:
            written += os.write(writer.fileno(), b"x" * 4096)
    assert written == PIPE_SIZE


@widens
def test_a_larger_pipe_is_not_narrowed(pipe, monkeypatch):
    reader, writer = pipe
    widen_pipe(writer)
    monkeypatch.setattr(ndjson, "PIPE_SIZE", PIPE_SIZE // 4)
    widen_pipe(reader)
    assert pipe_size(reader.fileno()) == PIPE_SIZE


def test_files_and_streams_without_a_descriptor_are_left_alone(tmp_path):
    path = tmp_path / "out.ndjson"
    with open(path, "wb") as handle:
        BatchWriter(handle).write({"a": 1})
    assert path.read_bytes() == b""            # batched, never flushed: nothing lost or forced
    stream = io.BytesIO(b'{"a":1}\n')
    assert list(line_blocks(stream, 100)) == [[b'{"a":1}']]


def test_a_pipe_the_kernel_will_not_widen_is_used_as_it_is(pipe, monkeypatch):
    reader, writer = pipe
    real = fcntl.fcntl

    def refuse(fd, command, *args):
        if command == SET:
            raise PermissionError(errno.EPERM, "over pipe-user-pages-hard")
        return real(fd, command, *args)

    monkeypatch.setattr(ndjson.fcntl, "fcntl", refuse)
    out = BatchWriter(writer)
    out.write({"user": "bob"})
    out.flush()
    assert pipe_size(writer.fileno()) < PIPE_SIZE
    assert reader.read1(100) == b'{"user":"bob"}\n'


@widens
def test_a_python_that_does_not_name_the_commands_widens_too(pipe, monkeypatch):
    """Python names F_SETPIPE_SZ from 3.10 on; RHEL 9's python3 is 3.9."""
    reader, writer = pipe
    for name in ("F_GETPIPE_SZ", "F_SETPIPE_SZ"):
        monkeypatch.delattr(fcntl, name, raising=False)
    widen_pipe(writer)
    assert pipe_size(writer.fileno()) == PIPE_SIZE


def test_off_linux_no_pipe_is_touched(pipe, monkeypatch):
    reader, writer = pipe
    monkeypatch.setattr(ndjson.sys, "platform", "darwin")
    widen_pipe(writer)
    assert ndjson.pipe_commands() is None and pipe_size(writer.fileno()) < PIPE_SIZE
