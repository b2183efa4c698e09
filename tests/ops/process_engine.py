"""A stand-in for `docker` that runs the image's entrypoint as a host process.

It exists to test scripts/container-smoke.sh's own logic (engine detection, the sandbox,
the polls, the edit) on machines without a container engine, such as the one this was
written on. It proves nothing about the image: no build happens, the read-only root and
the user are not applied. What it does take from the image is its runtime contract: the
ENV defaults of the Dockerfile's final stage, the ENTRYPOINT/CMD, and the volume and
bind mounts (container paths are mapped to host folders).

Understands exactly the engine commands the script uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATE = Path(os.environ["PROCESS_ENGINE_STATE"])


def image_env() -> dict[str, str]:
    """The ENV of the Dockerfile's final stage ($PATH-style references left out)."""
    text = REPO.joinpath("Dockerfile").read_text()
    final = text[text.rindex("\nFROM ") :]
    env: dict[str, str] = {}
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", final, re.M):
        for key, value in re.findall(r"(\w+)=(\S+)", block.replace("\\\n", " ")):
            if "$" not in value:
                env[key] = value
    return env


def run(args: list[str]) -> int:
    name, mounts, env, rest = "", {}, image_env(), list(args)
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag in ("-d", "--read-only"):
            continue
        value = rest.pop(0)
        if flag == "--name":
            name = value
        elif flag == "-v":
            source, target = value.split(":")[:2]
            mounts[target] = source
        elif flag == "--mount":
            target = dict(p.split("=", 1) for p in value.split(","))["dst"]
            mounts[target] = str(STATE / f"{name}-volume")
            Path(mounts[target]).mkdir(parents=True, exist_ok=True)
        elif flag == "-e":
            key, _, val = value.partition("=")
            env[key] = val
    rest.pop(0)  # the image
    command = rest or ["run"]
    # The image carries the example repository at /srv/edge-routing: this checkout's.
    mounts.setdefault("/srv/edge-routing", str(REPO))
    for key, val in env.items():
        for target, source in mounts.items():
            if val == target or val.startswith(target + "/"):
                env[key] = source + val[len(target) :]
    workdir = mounts.get("/srv/edge-routing", str(REPO))
    full_env = {**os.environ, **env}
    log = open(STATE / f"{name}.log", "wb")  # noqa: SIM115 - outlives this process
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *command],
        env=full_env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (STATE / f"{name}.json").write_text(json.dumps({"pid": proc.pid, "env": env, "cwd": workdir}))
    print(name)
    return 0


def main() -> int:
    args = sys.argv[1:]
    verb = args[0]
    if verb in ("info", "build"):
        return 0
    if verb == "image":
        # image inspect -f FORMAT IMAGE: the size, or the HEALTHCHECK as docker records it.
        if "Healthcheck" in args[3]:
            text = REPO.joinpath("Dockerfile").read_text()
            (command,) = re.findall(r"^HEALTHCHECK .*\\\n\s+CMD (\[.*\])$", text, re.M)
            print(json.dumps({"Test": ["CMD", *json.loads(command)]}))
        else:
            print(0)
        return 0
    if verb == "run":
        return run(args[1:])
    name = args[-1] if verb != "exec" else args[1]
    state = STATE / f"{name}.json"
    if verb == "container":
        return 0 if state.exists() else 1
    if verb == "logs":
        sys.stdout.write((STATE / f"{name}.log").read_text(errors="replace")[-4000:])
        return 0
    if verb == "exec":
        container = json.loads(state.read_text())
        # The image's PATH has its venv's python and reconciler: this venv's, here.
        program = {"python": [sys.executable], "reconciler": [sys.executable, "-m", "reconciler"]}
        return subprocess.call(
            [*program.get(args[2], [args[2]]), *args[3:]],
            env={**os.environ, **container["env"]},
        )
    if verb == "rm":
        for name in (arg for arg in args[1:] if not arg.startswith("-")):
            state = STATE / f"{name}.json"
            if state.exists():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(json.loads(state.read_text())["pid"], signal.SIGTERM)
                state.unlink()
        return 0
    print(f"process_engine: unsupported: {args}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
