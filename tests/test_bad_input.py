"""Bad input, as a user types it, gets one line on stderr and exit 1 (2 for usage), never a
traceback or an "unexpected" error, and leaves nothing behind."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import ROOT, cli_env, readout_exe, run_cli

pytestmark = pytest.mark.e2e

GRAVE = "What was said about grave visits?"


def one_error(r: subprocess.CompletedProcess, code: int = 1) -> str:
    """The single error line of a failed command."""
    stderr = r.stderr if isinstance(r.stderr, str) else r.stderr.decode("utf-8", "replace")
    assert r.returncode == code, stderr
    assert "unexpected" not in stderr and "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("readout: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


# --- questions that are not valid UTF-8 --------------------------------------------------------------


def test_a_question_argument_with_bytes_that_are_not_utf8_is_answered(bundled_index, tmp_path):
    r = subprocess.run([*readout_exe(), "ask", "--json", "--index", str(bundled_index), b"grave \xff visits"],
                       capture_output=True, env=cli_env(tmp_path), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["question"] == "grave \ufffd visits"
    assert answer["found"] and answer["hits"][0]["point"] == 5


def test_a_batch_goes_on_after_a_line_that_is_not_utf8(bundled_index, tmp_path):
    batch = b"caf\xe9 grave visits\nWhat did Putin say about North Korea?\n"
    r = subprocess.run([*readout_exe(), "ask", "--json", "--index", str(bundled_index)], input=batch,
                       capture_output=True, env=cli_env(tmp_path), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    assert [a["question"] for a in answers] == ["caf\ufffd grave visits", "What did Putin say about North Korea?"]
    assert answers[0]["hits"][0]["point"] == 5
    assert "North Korea" in answers[1]["hits"][0]["text"]


def test_piped_answers_in_text_mode_say_which_question_they_answer(bundled_index, tmp_path):
    r = run_cli(["ask", "-k", "1", "--index", str(bundled_index)], cli_env(tmp_path),
                input="grave visits\nNorth Korea\n")
    assert r.returncode == 0, r.stderr
    heads = [line for line in r.stdout.splitlines() if line.startswith("Q: ")]
    assert heads == ["Q: grave visits", "Q: North Korea"]


# --- index paths that cannot be used -----------------------------------------------------------------


def test_an_index_path_that_is_a_file(tmp_path):
    f = tmp_path / "not-a-folder"
    f.write_text("hello")
    line = one_error(run_cli(["ask", "--index", str(f), GRAVE], cli_env(tmp_path)))
    assert "is a file, not a folder" in line and "--index" in line
    assert f.read_text() == "hello"


@pytest.mark.parametrize("command", [["ask", GRAVE], ["index"]])
def test_an_index_path_that_cannot_be_created(tmp_path, command):
    line = one_error(run_cli([command[0], "--index", "/proc/x", *command[1:]], cli_env(tmp_path)))
    assert "cannot create the index folder /proc/x" in line


def test_a_cache_directory_that_cannot_be_created(tmp_path):
    env = cli_env(tmp_path, XDG_CACHE_HOME="/proc/nonexistent")
    line = one_error(run_cli(["ask", GRAVE], env))
    assert "cannot create the index folder /proc/nonexistent/" in line and "XDG_CACHE_HOME" in line


def test_a_folder_that_is_not_an_index_is_left_as_it_was(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"\xff\xd8")
    line = one_error(run_cli(["ask", "--index", str(folder), GRAVE], cli_env(tmp_path)))
    assert "not a readout index folder" in line
    assert [p.name for p in folder.iterdir()] == ["holiday.jpg"], "no .lock or anything else was left there"


def test_a_corpus_that_does_not_exist_leaves_no_cache_folder_and_announces_no_build(tmp_path):
    env = cli_env(tmp_path)
    r = run_cli(["ask", "--corpus", str(tmp_path / "nowhere"), GRAVE], env)
    assert "no such corpus folder" in one_error(r)
    assert "building the index" not in r.stderr
    assert not (tmp_path / "cache" / "readout" / "indexes").exists()
    r = run_cli(["index", "--corpus", str(tmp_path / "nowhere")], env)
    assert "no such corpus folder" in one_error(r) and "indexing" not in r.stderr


# --- models, devices and settings --------------------------------------------------------------------


def test_an_unknown_model_with_no_hub_fails_at_once_and_leaves_nothing(tmp_path):
    env = cli_env(tmp_path)
    r = run_cli(["ask", "--model", "no-such-model", GRAVE], env, timeout=60)
    line = one_error(r)
    assert "no model hub is reachable" in line and "local model folder" in line
    assert "building the index" not in r.stderr
    assert not (tmp_path / "cache" / "readout" / "indexes").exists()


@pytest.mark.parametrize("name,value,needle", [
    ("READOUT_DEVICE", "gpu", "READOUT_DEVICE=gpu is not a device"),
    ("READOUT_DELTA_MAX", "lots", "READOUT_DELTA_MAX=lots is not a whole number"),
    ("READOUT_LOCK_TIMEOUT", "ten", "READOUT_LOCK_TIMEOUT=ten is not a number of seconds"),
])
def test_a_mistyped_setting_is_one_line(bundled_index, tmp_path, name, value, needle):
    r = run_cli(["ask", "--index", str(bundled_index), GRAVE], cli_env(tmp_path, **{name: value}))
    assert needle in one_error(r)


def test_a_cuda_device_on_a_cpu_torch_blames_the_device(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    # a machine with no question encoder exported yet: the first build loads the model on its device
    env = cli_env(tmp_path, shared_exports=False, READOUT_DEVICE="cuda")
    r = run_cli(["index", "--index", str(tmp_path / "index")], env)
    line = one_error(r)
    assert "READOUT_DEVICE=cuda" in line and "cannot load model" not in line


# --- -v after the subcommand -------------------------------------------------------------------------


def test_verbose_after_the_subcommand(bundled_index, tmp_path):
    env = cli_env(tmp_path)
    quiet = run_cli(["ask", "--index", str(bundled_index), GRAVE], env)
    assert " INFO " not in quiet.stderr
    r = run_cli(["ask", "-v", "--index", str(bundled_index), GRAVE], env)
    assert r.returncode == 0 and " INFO " in r.stderr
    r = run_cli(["index", "-vv", "--index", str(bundled_index)], env)
    assert r.returncode == 0 and " DEBUG " in r.stderr
    r = run_cli(["-v", "list", "-v"], env)  # before and after add up
    assert r.returncode == 0


# --- words a user reads ------------------------------------------------------------------------------


def test_index_and_list_count_readouts_and_points_alike(tmp_path):
    env = cli_env(tmp_path)
    r = run_cli(["index", "--index", str(tmp_path / "index")], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Indexed 1 readout, 7 points and 1 preamble ")
    listed = run_cli(["list"], env)
    assert "1 readout, 7 points and 1 preamble in" in listed.stderr


def test_eval_refuses_a_question_about_a_readout_not_in_the_corpus(bundled_index, tmp_path):
    qs = tmp_path / "qs.jsonl"
    qs.write_text(json.dumps({"q": GRAVE, "doc": "000_f357f723c89b56b9.txt", "point": 5}) + "\n"
                  + json.dumps({"q": "Who won?", "doc": "elsewhere.txt", "point": 1}) + "\n")
    line = one_error(run_cli(["eval", "--index", str(bundled_index), str(qs)], cli_env(tmp_path)))
    assert "line 2" in line and "elsewhere.txt is not in the corpus" in line


@pytest.mark.parametrize("bad", ['{"doc": null}', '["q", "doc"]', '{"q": ""}', '{"q": "x", "doc": "a.txt", "point": "5"}', "{oops"])
def test_eval_refuses_a_line_that_is_not_a_question(bundled_index, tmp_path, bad):
    qs = tmp_path / "qs.jsonl"
    qs.write_text(json.dumps({"q": GRAVE, "doc": None}) + "\n" + bad + "\n")
    line = one_error(run_cli(["eval", "--index", str(bundled_index), str(qs)], cli_env(tmp_path)))
    assert "line 2" in line



# --- the interactive mode ----------------------------------------------------------------------------


def test_interactive_ctrl_c_cancels_the_line_and_exit_is_not_kept_in_the_history(bundled_index, tmp_path):
    import os
    import pty
    import select
    import time

    env = cli_env(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # the child: readout on a terminal, as a user starts it
        os.chdir(ROOT)
        os.execvpe(readout_exe()[0], [*readout_exe(), "ask", "-k", "1", "--index", str(bundled_index)], env)
    seen = b""

    def read_until(needle: bytes, times: int = 1, timeout: float = 120) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while seen.count(needle) < times:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    seen += os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    break
        assert seen.count(needle) >= times, seen.decode(errors="replace")

    read_until(b"readout> ")
    os.write(fd, b"half a questi")
    read_until(b"half a questi")
    os.write(fd, b"\x03")  # Ctrl-C: the line goes, the session stays
    read_until(b"readout> ", times=2)
    os.write(fd, b"grave visits\r")
    read_until(b"point 5")
    os.write(fd, b"exit\r")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, seen.decode(errors="replace")
    history = (tmp_path / "state" / "readout" / "history").read_text()
    assert "grave visits" in history and "exit" not in history and "half a questi" not in history
