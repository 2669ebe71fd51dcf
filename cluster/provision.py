"""Provisioning for the cluster test, through Tollgate's own ``flask`` commands, in one process (each
``flask`` start costs seconds on a busy machine): run with the run's environment, the commands as
arguments, one JSON list each, e.g. ``provision.py '["db", "upgrade"]'``. A command's stdin is the
optional ``"stdin"`` key of an object form: ``{"args": [...], "stdin": "..."}``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402


def main(commands: list[str]) -> int:
    runner = create_app().test_cli_runner()
    for raw in commands:
        command = json.loads(raw)
        args, stdin = (command, None) if isinstance(command, list) else (command["args"], command.get("stdin"))
        result = runner.invoke(args=args, input=stdin, catch_exceptions=False)
        if result.exit_code != 0:
            print(f"flask {' '.join(args)} failed ({result.exit_code}):\n{result.output}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
