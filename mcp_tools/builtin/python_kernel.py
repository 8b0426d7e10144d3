"""The interpreter loop that runs INSIDE the python sandbox (read as text and passed to
`python3 -I -c`; it imports nothing of ours).

Protocol: one JSON line per request on stdin, `{"code": "..."}`; one JSON line per answer
on the protocol descriptor (the original stdout), `{"output": "...", "error": "..."|null}`.
The code's own stdout and stderr (file descriptors 1 and 2, so child processes too) go to a
file in the sandbox's /tmp, read back after each call up to the output limit. Whatever
this loop answers is untrusted: the code can write to any descriptor it likes.
"""

import ast
import contextlib
import json
import os
import resource
import signal
import sys
import traceback

OUTPUT_FILE = "/tmp/.output"


def main(output_limit, cpu_per_call):
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails, not the process
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    me = os.getpid()
    for line in requests:
        code = json.loads(line)["code"]
        output, error = run(code, namespace, output_limit, cpu_per_call)
        if os.getpid() != me:  # a fork of the code's that came back here: it must not answer
            os._exit(1)
        end_other_processes()
        protocol.write(json.dumps({"output": output, "error": error}) + "\n")
        protocol.flush()


def run(code, namespace, output_limit, cpu_per_call):
    sink = os.open(OUTPUT_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    os.close(sink)
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = spent + cpu_per_call
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard < 0 else min(soft, hard), hard))
    error = None
    try:
        execute(code, namespace)
    except KeyboardInterrupt:
        error = "interrupted"
    except BaseException as exc:  # the code's own failure is its output, not ours
        if isinstance(exc, SystemExit):
            error = f"SystemExit: {exc.code}"
        else:
            print_user_traceback(exc)
            error = f"{type(exc).__name__}: {exc}"
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError):
                stream.flush()
    return read_output(output_limit), error


def end_other_processes():
    """No process of the code's outlives its call (this is the only one left besides the
    sandbox's init, which a kill from inside cannot reach)."""
    with contextlib.suppress(OSError):
        os.kill(-1, signal.SIGKILL)


def print_user_traceback(exc):
    """The traceback from the code's own first frame on (this loop's frames left out)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != "<python>":
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__)


def execute(code, namespace):
    """Like a notebook cell: the value of a last bare expression is printed."""
    tree = ast.parse(code, "<python>", "exec")
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if last is not None:
        tree.body.pop()
    exec(compile(tree, "<python>", "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), "<python>", "eval"), namespace)
        if value is not None:
            print(repr(value))  # noqa: T201 (the notebook's shown value)


def read_output(limit):
    with open(OUTPUT_FILE, "rb") as produced:
        data = produced.read(limit + 1)
        total = os.fstat(produced.fileno()).st_size
    text = data[:limit].decode("utf-8", errors="replace")
    if total > limit:
        text += f"\n[output truncated: {limit} of {total} bytes shown]"
    return text


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
