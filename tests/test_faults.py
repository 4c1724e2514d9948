"""Faults around the index: a full disk or a read-only folder during a build, a damaged index when
the app starts. Each must give a clear message and leave the previous index answering."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from qa import store
from qa.answering import Engine
from qa.errors import IndexWriteError
from qa.indexing import build_index
from qa.settings import Settings
from qa.store import writer
from tests.conftest import DATA, ROOT
from tests.test_crash_safety import _add_stories

# A child process whose files may not grow past 64 kB (RLIMIT_FSIZE, with SIGXFSZ ignored so the
# write fails instead of killing it): what a full disk looks like to the build.
SMALL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
from qa.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _assert_previous_index_serves(settings, fake, build_id):
    assert store.current_build_id(settings.index_dir) == build_id
    assert not [p for p in store.builds_dir(settings.index_dir).iterdir() if p.name.startswith(".tmp-")]
    answer = Engine(settings, fake).answer("What did Lloyd Austin call for?")
    assert answer.build_id == build_id and (answer.citations or answer.closest)  # searched, not failed


def test_full_disk_during_a_build_is_one_clear_error_and_the_previous_index_stays(settings, fake, corpus):
    first = build_index(settings, fake)
    _add_stories(corpus, 0, 25)
    env = dict(os.environ, PYTHONPATH=str(ROOT), QA_MODEL="all-MiniLM-L6-v2")
    proc = subprocess.run([sys.executable, "-c", SMALL_DISK, "index", "--quiet", "--corpus", str(corpus),
                           "--index", str(settings.index_dir)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qa: error: could not write the new index")
    # the OS's reason, as whichever writer hit the limit first reports it
    assert any(r in lines[0] for r in ("File too large", "disk I/O error", "database or disk is full"))
    assert "the previous index is still in use" in lines[0]
    _assert_previous_index_serves(settings, fake, first.build_id)
    assert build_index(settings, fake).articles == first.articles + 25  # space back: the build completes


@pytest.mark.parametrize("where, error", [
    ("write_counts", OSError(errno.ENOSPC, "No space left on device")),  # whole builds
    ("write_vectors", RuntimeError("Error in faiss::FileIOWriter: fwrite failed")),
    ("write_npy", OSError(errno.ENOSPC, "No space left on device")),  # delta builds
    ("link_base", OSError(errno.EMLINK, "Too many links")),
    ("new_build_dir", PermissionError(errno.EACCES, "Permission denied")),
    ("publish", OSError(errno.EROFS, "Read-only file system")),
])
def test_write_failures_keep_the_previous_index(settings, fake, corpus, monkeypatch, where, error):
    first = build_index(settings, fake)
    _add_stories(corpus, 0, 25)

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(writer, where, fail)
    with pytest.raises(IndexWriteError) as exc:
        build_index(settings, fake, full=where in ("write_counts", "write_vectors"))
    message = str(exc.value)
    assert str(settings.index_dir) in message and "the previous index is still in use" in message
    assert (error.strerror if isinstance(error, OSError) else str(error)) in message
    monkeypatch.undo()
    _assert_previous_index_serves(settings, fake, first.build_id)


def test_unwritable_index_folder_is_a_clear_error(tmp_path, fake):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should be")
    settings = Settings(corpus_dir=DATA / "articles", index_dir=blocker / "index")
    with pytest.raises(IndexWriteError, match="cannot write to the index folder"):
        build_index(settings, fake)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_app_starts_on_a_damaged_index_says_so_and_recovers_after_a_rebuild(tmp_path, real_embedder):
    from gradio_client import Client

    shutil.copytree(DATA / "articles", tmp_path / "corpus")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    build_index(settings, real_embedder)
    faiss_file = store.current_build_dir(settings.index_dir) / "sentences.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])  # truncated
    port = _free_port()
    env = dict(os.environ, QA_CORPUS_DIR=str(settings.corpus_dir), QA_INDEX_DIR=str(settings.index_dir),
               GRADIO_SERVER_PORT=str(port), HF_HUB_OFFLINE="1")
    app = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = app.stdout.readline()
            output.append(line)
            if "Running on" in line or app.poll() is not None:
                break
        assert app.poll() is None, "".join(output)
        assert any("is damaged" in line and "rebuild" in line for line in output)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        with pytest.raises(Exception, match="damaged") as exc:
            client.predict("How many North Korean troops are in Russia?", [], api_name="/ask")
        assert "qa index --full" in str(exc.value)
        build_index(settings, real_embedder)  # what Rebuild does; the running app picks it up
        answer = client.predict("How many North Korean troops are in Russia?", [], api_name="/ask")
        assert answer["found"] and answer["build_id"] == store.current_build_id(settings.index_dir)
    finally:
        app.kill()
        app.wait(10)
