"""The `readout` command: build the index, ask questions, evaluate, run the Telegram bot.

A thin click layer over `embeddings.engine`: it parses options, calls the engine and prints.
Every failure a user can fix ends in one line on stderr and exit status 1 (2 for usage errors).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from bot.advice import explain
from bot.options import corpus_option, counted_points, fail, index_option, model_option, plural

log = logging.getLogger("readout")
BATCH = 32  # piped questions encoded together at most


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"readout: {record.getMessage()}"


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine() if verbose == 0 else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "sentence_transformers", "transformers", "huggingface_hub", "filelock", "faiss"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # third-party progress bars and warnings on import are not ours to show
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if verbose == 0:
        import warnings

        warnings.filterwarnings("ignore")


def _more_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    """-v given after the subcommand adds to any given before it (`readout -v ask -v` is -vv)."""
    if not value or ctx.resilient_parsing:
        return
    root = ctx.find_root()
    root.meta["readout.verbose"] = root.meta.get("readout.verbose", 0) + value
    _setup_logging(root.meta["readout.verbose"])


def _verbose_option() -> click.Option:
    return click.Option(["-v", "--verbose"], count=True, expose_value=False, is_eager=True,
                        callback=_more_verbose, help="More logging (-vv for debug).")


# The commands that live in their own modules, each imported only when run (or listed by --help):
# `readout ask` need not import the bot, the feeds or the corpus tools
LAZY = {
    "add": "bot.manage:add_command",
    "eval": "bot.evaluate:eval_command",
    "feeds": "bot.feeds:feeds_group",
    "list": "bot.manage:list_command",
    "remove": "bot.manage:remove_command",
    "telegram": "bot.telegram.command:telegram_command",
    "timeline": "bot.timeline:timeline_command",
}


def _with_verbose(command: click.Command) -> click.Command:
    """Every command takes -v after its name too (`readout ask -v`)."""
    if not any("--verbose" in getattr(p, "opts", ()) for p in command.params):
        command.params.append(_verbose_option())
    return command


class _Commands(click.Group):
    """A click group whose commands in `LAZY` are imported when asked for (click's documented
    lazy-loading pattern: list_commands and get_command)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY and cmd_name not in self.commands:
            import importlib

            module, name = LAZY[cmd_name].split(":")
            self.add_command(_with_verbose(getattr(importlib.import_module(module), name)), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.version_option(package_name="readout", message="readout %(version)s")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Ask questions of diplomatic readouts and get back the numbered points that answer them."""
    ctx.meta["readout.verbose"] = verbose
    _setup_logging(verbose)


@cli.command()
@corpus_option
@index_option
@model_option
@click.option("--compact", type=click.Choice(["fp16", "sq8", "sq4", "none"]), default=None,
              help="Store vectors as float16, 8-bit or 4-bit codes (a half, a quarter, an eighth of the memory; "
                   "past 100,000 vectors in an inverted file); 'none' for float32. Default: as before.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def index(corpus: Path | None, index: Path | None, model: str | None, compact: str | None, as_json: bool) -> None:
    """Bring the index up to date with the corpus, re-encoding only new or changed text."""
    from embeddings.engine import EngineError, build, resolve_paths

    paths = resolve_paths(corpus, index)

    def announce(p) -> None:
        click.echo(f"readout: indexing {p.corpus} into {p.index}", err=True)

    try:
        report = build(paths.corpus, paths.index, model, compact, on_start=announce)
    except EngineError as e:
        fail(explain(e))
    if as_json:
        click.echo(json.dumps({
            "corpus": str(paths.corpus), "index": str(paths.index), "readouts": report.readouts,
            "points": report.points, "vectors": report.units, "encoded": report.encoded, "skipped": report.skipped,
            "seconds": round(report.seconds, 2),
        }))
    else:
        skipped = f", {report.skipped} skipped" if report.skipped else ""
        reused = f", {report.units - report.encoded} reused" if report.encoded < report.units else ""
        click.echo(f"Indexed {plural(report.readouts, 'readout')}, {counted_points(report)} "
                   f"({plural(report.units, 'vector')}{reused}{skipped}) in {report.seconds:.1f} s")


def _load_engine(corpus: Path | None, index: Path | None, model: str | None):
    from embeddings.engine import Engine, EngineError, resolve_paths

    def announce(reason: str) -> None:
        p = resolve_paths(corpus, index)
        click.echo(f"readout: building the index first ({reason}): {p.corpus} -> {p.index}", err=True)

    try:
        return Engine.load(corpus, index, model, on_build=announce)
    except EngineError as e:
        fail(explain(e))


def _questions_from(stream) -> Iterator[str]:
    """Lines of a byte stream as questions: bytes that are not UTF-8 are replaced, so one bad
    line is still answered and the lines after it too."""
    for raw in stream:
        q = raw.decode("utf-8", "replace").strip()
        if q:
            yield q


def _interactive(engine, k: int, as_json: bool) -> None:
    try:
        import readline  # noqa: F401  line editing and history for input()
        from platformdirs import user_state_dir

        hist = Path(user_state_dir("readout")) / "history"
        try:
            hist.parent.mkdir(parents=True, exist_ok=True)
            readline.read_history_file(hist)
        except OSError:  # no history yet, or a state folder that cannot be made: asking still works
            pass
    except ImportError:
        readline, hist = None, None
    click.echo(f"Ask about {plural(len(engine.readouts), 'readout')}. Ctrl-D or 'exit' to leave; Ctrl-C cancels a line.", err=True)
    try:
        while True:
            try:
                q = input("readout> ").strip()
            except EOFError:
                click.echo("", err=True)
                break
            except KeyboardInterrupt:  # cancels the line being typed, as in a shell
                click.echo("", err=True)
                continue
            if q.lower() in {"exit", "quit", ":q"}:
                if readline is not None and readline.get_current_history_length():
                    readline.remove_history_item(readline.get_current_history_length() - 1)
                break
            if q:
                try:
                    _answer(engine, q, k, as_json)
                except KeyboardInterrupt:
                    click.echo("", err=True)
    finally:
        if readline is not None and hist is not None:
            try:
                readline.write_history_file(hist)
            except OSError:
                pass


def _answer(engine, question: str, k: int, as_json: bool) -> None:
    _print_answer(engine.ask(question, k), as_json)


def _print_answer(answer, as_json: bool, echo_question: bool = False) -> None:
    from bot.answer_text import format_answer

    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        if echo_question:  # among many answers, each says which question it answers
            click.echo(f"Q: {answer.question}\n")
        click.echo(format_answer(answer))
        click.echo("")


@cli.command()
@corpus_option
@index_option
@model_option
@click.option("-k", "k", type=click.IntRange(1, 100), default=3, show_default=True, help="How many points to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question.")
@click.argument("question", nargs=-1)
def ask(corpus: Path | None, index: Path | None, model: str | None, k: int, as_json: bool, question: tuple[str, ...]) -> None:
    """Answer QUESTION; without one, read questions from stdin, one per line, or ask interactively."""
    text = " ".join(question).strip()
    if question and not text:
        fail("the question is empty; ask something, e.g. readout ask \"What was said about grave visits?\"", 2)
    many = not text  # a session or a batch: a warm process
    with _ctrl_c_to_main_thread(many):
        engine = _load_engine(corpus, index, model)
        if many:
            engine.warm_up()
    from embeddings.engine import EngineError

    try:
        if text:
            _answer(engine, text, k, as_json)
        elif sys.stdin.isatty():
            _interactive(engine, k, as_json)
        else:
            for batch in _batches(_questions_from(sys.stdin.buffer)):
                for answer in engine.ask_many(batch, k):
                    _print_answer(answer, as_json, echo_question=True)
                sys.stdout.flush()  # each answer as soon as it is ready, for a script reading them
    except EngineError as e:
        fail(explain(e))


@contextmanager
def _ctrl_c_to_main_thread(on: bool):
    """Ctrl-C must reach the main thread, where input() waits: a SIGINT the kernel hands to one of
    the threads that numpy's BLAS or the tokenizer start is noted but wakes nothing, and the line
    is not cancelled. Threads inherit the signal mask of the thread that starts them, so SIGINT is
    blocked while loading and warming up start them, then let through in the main thread alone."""
    if not on or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _batches(questions: Iterator[str], most: int = BATCH) -> Iterator[list[str]]:
    """The questions waiting when the engine is free, together: a pipe of many is encoded in
    batches, while a question typed into a pipe by hand is answered at once."""
    waiting: queue.Queue = queue.Queue()
    end = object()

    def read() -> None:
        try:
            for q in questions:
                waiting.put(q)
        finally:
            waiting.put(end)

    threading.Thread(target=read, name="stdin-reader", daemon=True).start()
    while True:
        batch = [waiting.get()]
        while len(batch) < most and batch[-1] is not end:
            try:
                batch.append(waiting.get_nowait())
            except queue.Empty:
                break
        done = batch[-1] is end
        if done:
            batch.pop()
        if batch:
            yield batch
        if done:
            return


for _command in list(cli.commands.values()):
    _with_verbose(_command)


def main() -> None:
    from embeddings.env import SettingError

    try:
        cli(prog_name="readout")
    except KeyboardInterrupt:
        click.echo("", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except SettingError as e:
        fail(explain(e))
    except Exception as e:  # the last line of defence: one line, never a traceback
        if logging.getLogger().level <= logging.DEBUG:
            raise
        fail(f"unexpected {type(e).__name__}: {e} (run with -vv for details, and please report it)")


if __name__ == "__main__":
    main()
