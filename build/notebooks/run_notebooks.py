#!/usr/bin/env python3
"""Executes .ipynb notebooks top to bottom through `dotnet-interactive stdio` and writes the outputs back.

Usage: run_notebooks.py [--timeout SECONDS] NOTEBOOK...

Each notebook gets a fresh kernel whose working directory is the notebook's folder (as in VS Code). Every code cell is
sent as a SubmitCode command; the events it raises become the cell's outputs (return values and displays as
execute_result / display_data with every MIME type the kernel formatted, console output as streams, a failure as an
error output). The notebook is written back with its outputs; the exit status is non-zero when any cell failed or timed
out, so CI fails on a notebook that does not run. The kernel is the repository's local tool (.config/dotnet-tools.json):
run `dotnet tool restore` first. Standard library only.
"""
import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

DISPLAY_EVENTS = {"ReturnValueProduced": "execute_result", "DisplayedValueProduced": "display_data"}
STREAM_EVENTS = {"StandardOutputValueProduced": "stdout", "StandardErrorValueProduced": "stderr"}


def source_text(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def lines(text):
    """Jupyter stores multi-line strings as lists of lines, each keeping its newline."""
    parts = text.splitlines(keepends=True)
    return parts if parts else [""]


def cell_kernel(cell, default):
    meta = cell.get("metadata", {})
    return (meta.get("polyglot_notebook", {}).get("kernelName")
            or meta.get("dotnet_interactive", {}).get("language")
            or default)


class Kernel:
    def __init__(self, cwd):
        self.proc = subprocess.Popen(
            ["dotnet", "tool", "run", "dotnet-interactive", "--", "stdio"],
            cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", bufsize=1, start_new_session=True)
        self.events = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                continue
        self.events.put(None)

    def submit(self, token, code, kernel_name, timeout):
        """Runs one cell; returns (outputs, error message or None)."""
        envelope = {"token": token, "commandType": "SubmitCode",
                    "command": {"code": code, "targetKernelName": kernel_name}}
        self.proc.stdin.write(json.dumps(envelope) + "\n")
        self.proc.stdin.flush()
        outputs, deadline = [], time.monotonic() + timeout
        while True:
            try:
                envelope = self.events.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                return outputs, f"the cell did not finish within {timeout} s"
            if envelope is None:
                return outputs, "the kernel exited: " + "".join(self.stderr[-20:])
            command_token = (envelope.get("command") or {}).get("token", "")
            if command_token != token and not command_token.startswith(token + "."):
                continue
            kind, event = envelope.get("eventType"), envelope.get("event", {})
            if kind in DISPLAY_EVENTS:
                data = {v["mimeType"]: lines(v["value"]) for v in event.get("formattedValues", [])
                        if not v.get("suppressDisplay")}
                if data:
                    outputs.append({"output_type": DISPLAY_EVENTS[kind], "data": data, "metadata": {}})
            elif kind in STREAM_EVENTS:
                text = "".join(v["value"] for v in event.get("formattedValues", []) if v["mimeType"] == "text/plain")
                outputs.append({"output_type": "stream", "name": STREAM_EVENTS[kind], "text": lines(text)})
            elif kind == "CommandFailed" and command_token == token:
                return outputs, event.get("message") or "the command failed"
            elif kind == "CommandSucceeded" and command_token == token:
                return outputs, None

    def close(self):
        # `dotnet tool run` starts the kernel as a child process: end the whole process group, not only the launcher.
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass


def run(path, timeout):
    with open(path, encoding="utf-8") as f:
        notebook = json.load(f)
    default = (notebook.get("metadata", {}).get("polyglot_notebook", {}).get("kernelInfo", {})
               .get("defaultKernelName", "csharp"))
    kernel = Kernel(os.path.dirname(os.path.abspath(path)) or ".")
    failures, count = [], 0
    started = time.monotonic()
    try:
        for index, cell in enumerate(notebook["cells"]):
            if cell.get("cell_type") != "code":
                continue
            count += 1
            cell_started = time.monotonic()
            outputs, error = kernel.submit(str(count), source_text(cell), cell_kernel(cell, default), timeout)
            if error is not None:
                outputs.append({"output_type": "error", "ename": "CellFailed", "evalue": error.splitlines()[0] if error else "",
                                "traceback": error.splitlines()})
                failures.append(f"{path}: cell {index} (code cell {count}) failed: {error}")
            cell["outputs"] = outputs
            cell["execution_count"] = count
            print(f"  cell {count}: {len(outputs)} output(s), {time.monotonic() - cell_started:.1f} s"
                  + (" FAILED" if error else ""), flush=True)
            if error is not None:
                break  # later cells depend on this one
    finally:
        kernel.close()
    with open(path, "w", encoding="utf-8") as f:
        json.dump(notebook, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{path}: {count} code cell(s) in {time.monotonic() - started:.1f} s" + (" FAILED" if failures else ""), flush=True)
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cell (default 600)")
    parser.add_argument("notebooks", nargs="+")
    args = parser.parse_args()
    failures = []
    for path in args.notebooks:
        failures += run(path, args.timeout)
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
