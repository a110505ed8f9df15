"""The deploy recipes stay in step with the code.

None of the recipes can run here (no Docker daemon, no GCP, no Flink or Spark jars offline), so
these tests check what can be checked: every `newsnorm` command and flag a recipe uses exists,
the Flex Template parameters are the job's options, the files parse, the image is built from
files that exist with the versions we pin, and the Cloud Function builds the right launch
request for an object name.
"""

from __future__ import annotations

import importlib.util
import json
import py_compile
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from pipeline import cli, options, watch
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
SHELL_RECIPES = sorted(DEPLOY.glob("*.sh")) + [DEPLOY / "crontab", DEPLOY / "Dockerfile"]
MARKDOWN = [DEPLOY / "README.md", REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
COMMAND_RE = re.compile(r"(?:^|[\s/\"'(])newsnorm\s+([a-z]+)\b(.*)")
SHELL_STOP = {">>", ">", "|", "||", "&&", ";", "2>&1", "&"}


def load_module(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------
# Which commands the recipes use


def logical_lines(text: str) -> list[tuple[str, bool]]:
    """(line, is_comment) with comment markers removed (commented-out alternative commands are
    checked too) and backslash continuations joined.

    >>> logical_lines("#  newsnorm run \\\\\\n#   --force\\nls")
    [('newsnorm run --force', True), ('ls', False)]
    """
    out, pending, comment = [], "", False
    for raw in text.splitlines():
        line = raw.strip()
        if not pending:
            comment = line.startswith("#")
        line = line.lstrip("#").strip()
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        out.append(((pending + line).strip(), comment))
        pending = ""
    if pending:
        out.append((pending.strip(), comment))
    return out


def commands_in_text(text: str) -> list[tuple[str, list[str]]]:
    """Every `newsnorm SUB args...` in shell-like text, as (SUB, args up to a shell operator).

    >>> commands_in_text('x && /opt/bin/newsnorm watch --once --input "$D" >> log 2>&1')
    [('watch', ['--once', '--input', '$D'])]
    """
    found = []
    for line, comment in logical_lines(text):
        for m in COMMAND_RE.finditer(line):
            if comment and not re.match(r"\S*newsnorm\s", line):
                continue  # prose in a comment ("needs newsnorm installed"), not a command
            try:
                tokens = shlex.split(m.group(2), comments=True)
            except ValueError:
                tokens = m.group(2).split()
            args = []
            for tok in tokens:
                if tok in SHELL_STOP or tok.startswith((">", "|")):
                    break
                args.append(tok)
            found.append((m.group(1), args))
    return found


def markdown_code(text: str) -> str:
    return "\n".join(re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S))


def commands_in_yaml(doc) -> list[tuple[str, list[str]]]:
    """Containers whose command (+ args) starts with newsnorm."""
    found = []
    if isinstance(doc, dict):
        if "image" in doc and ("command" in doc or "args" in doc):
            argv = [str(x) for x in (doc.get("command") or []) + (doc.get("args") or [])]
            if argv and argv[0].rsplit("/", 1)[-1] == "newsnorm" and len(argv) > 1:
                found.append((argv[1], argv[2:]))
        for v in doc.values():
            found += commands_in_yaml(v)
    elif isinstance(doc, list):
        for v in doc:
            found += commands_in_yaml(v)
    return found


def all_recipe_commands() -> list[tuple[str, str, list[str]]]:
    cmds = []
    for path in SHELL_RECIPES:
        cmds += [(path.name, sub, args) for sub, args in commands_in_text(path.read_text())]
    for path in MARKDOWN:
        cmds += [(str(path.relative_to(REPO)), sub, args) for sub, args in
                 commands_in_text(markdown_code(path.read_text()))]
    for path in sorted(DEPLOY.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            cmds += [(path.name, sub, args) for sub, args in commands_in_yaml(doc)]
    return cmds


# --------------------------------------------------------------------------------------------
# Which flags exist


def _beam_option_names() -> set[str]:
    from apache_beam.options.pipeline_options import PipelineOptions

    return set(PipelineOptions([]).get_all_options())


def flag_problems(sub: str, args: list[str]) -> list[str]:
    """Flags in one recipe command that the CLI would not accept ([] when all are known)."""
    if sub not in cli.SUBCOMMANDS:
        return [f"unknown command newsnorm {sub}"]
    if sub not in ("run", "watch"):
        return []
    run_flags = set(options.build_parser()._option_string_actions)
    watch_flags = set(watch.build_parser()._option_string_actions)
    beam = _beam_option_names()
    problems = []
    passthrough = sub == "run"
    for arg in args:
        if arg == "--":
            passthrough = True
            continue
        if not arg.startswith("--"):
            continue
        flag = arg.split("=", 1)[0]
        if sub == "watch" and not passthrough and flag in watch_flags:
            continue
        if flag in run_flags or flag[2:] in beam:
            continue
        problems.append(f"newsnorm {sub}: unknown flag {flag}")
    return problems


def test_recipes_use_commands(tmp_path):
    subs = {(where, sub) for where, sub, _ in all_recipe_commands()}
    # The recipes this test exists for: if a refactor stops these from being found, say so.
    for where, sub in [("crontab", "watch"), ("cronjob.yaml", "watch"), ("flink.sh", "run"),
                       ("spark.sh", "run"), ("dataflow.sh", "run"),
                       ("portable_local.sh", "run"), ("README.md", "watch"), ("docs/usage.md", "watch"),
                       ("deploy/README.md", "watch")]:
        assert (where, sub) in subs, (where, sub)


def test_every_flag_a_recipe_uses_exists():
    problems = []
    for where, sub, args in all_recipe_commands():
        problems += [f"{where}: {p}" for p in flag_problems(sub, args)]
    assert problems == []


@pytest.mark.parametrize("line, bad", [
    ("newsnorm run --input a --output b --bogus_flag=1", ["--bogus_flag"]),
    ("newsnorm watch --input a --output b --once --poll_s 3", []),
    ("newsnorm watch --input a --output b -- --runner=FlinkRunner --flink_master=h:8081", []),
    ("newsnorm watch --input a --output b -- --once", ["--once"]),  # watch flag after --
    ("newsnorm run --input a --output b --once", ["--once"]),
    ("newsnorm frobnicate --x", None),
])
def test_flag_check_catches_unknown_flags(line, bad):
    ((sub, args),) = commands_in_text(line)
    problems = flag_problems(sub, args)
    if bad is None:
        assert problems == ["unknown command newsnorm frobnicate"]
    else:
        assert problems == [f"newsnorm {sub}: unknown flag {f}" for f in bad]


# --------------------------------------------------------------------------------------------
# Flex Template metadata


def run_actions() -> dict:
    return {a.dest: a for a in options.build_parser()._actions if a.dest != "help"}


def test_flex_template_parameters_are_the_job_options():
    meta = json.loads((DEPLOY / "metadata.json").read_text())
    params = {p["name"]: p for p in meta["parameters"]}
    assert len(params) == len(meta["parameters"]), "duplicate parameter names"
    actions = run_actions()
    # Flags without a value (--force, --no_report, --quiet) cannot be template parameters,
    # which are always name=value; every option with a value must be one.
    valued = {d for d, a in actions.items() if a.nargs != 0}
    assert set(params) == valued, (
        f"add to deploy/metadata.json: {sorted(valued - set(params))}; "
        f"not job options: {sorted(set(params) - valued)}")
    for name, p in params.items():
        a = actions[name]
        assert p["isOptional"] is (not a.required), name
        assert p.get("label") and p.get("helpText"), name
        for rx in p.get("regexes", []):
            for choice in a.choices or []:
                assert re.fullmatch(rx, choice), (name, choice)
            if a.default not in (None, "") and not a.choices and name not in ("models_dir",):
                assert re.fullmatch(rx, str(a.default)), (name, a.default)
        if a.choices:
            assert p.get("regexes"), f"{name} has choices: give it a regex"


# --------------------------------------------------------------------------------------------
# Files parse; the image is built from what exists


def test_python_compiles_json_yaml_parse_shell_syntax(tmp_path):
    for path in DEPLOY.rglob("*.py"):
        py_compile.compile(str(path), cfile=str(tmp_path / "x.pyc"), doraise=True)
    for path in DEPLOY.rglob("*.json"):
        json.loads(path.read_text())
    docs = [d for p in DEPLOY.rglob("*.yaml") for d in yaml.safe_load_all(p.read_text())]
    assert docs and all(d.get("kind") for d in docs)
    for path in DEPLOY.glob("*.sh"):
        proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, (path.name, proc.stderr)


def test_cron_line_has_a_schedule_and_runs_watch_once():
    lines = [ln for ln in (DEPLOY / "crontab").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    for f in fields[:5]:
        assert re.fullmatch(r"[\d*/,-]+", f), f
    ((sub, args),) = commands_in_text(fields[5])
    assert sub == "watch" and "--once" in args


def test_dockerfile_copies_existing_files_with_pinned_versions():
    import apache_beam

    text = (DEPLOY / "Dockerfile").read_text()
    for m in re.finditer(r"^COPY (?!--from)(.+?) (\S+)$", text, flags=re.M):
        for src in m.group(1).split():
            assert (REPO / src).exists(), src
    env = dict(re.findall(r"^ENV (\w+)=(\S+)$", text, flags=re.M))
    py_file = env["FLEX_TEMPLATE_PYTHON_PY_FILE"]
    assert py_file.startswith("/template/") and (REPO / py_file[len("/template/"):]).is_file()
    assert re.search(rf"^ARG BEAM_VERSION={re.escape(apache_beam.__version__)}$", text, re.M)
    py = re.findall(r"python:?(3\.?\d+)", text)
    assert py and {v.replace(".", "") for v in py} == {"311"}, py


def test_flex_entry_point_runs_the_pipeline_on_dataflow_by_default():
    import pipeline.run

    main = load_module(DEPLOY / "main.py", "newsnorm_deploy_main")
    assert main.run is pipeline.run.run
    assert main.with_default_runner(["--input=gs://b/d", "--output=gs://b/o"])[-1] == \
        "--runner=DataflowRunner"
    assert main.with_default_runner(["--runner=FnApiRunner"]) == ["--runner=FnApiRunner"]


# --------------------------------------------------------------------------------------------
# The Cloud Function


@pytest.fixture(scope="module")
def fn():
    return load_module(DEPLOY / "cloud_function" / "main.py", "newsnorm_cloud_function")


def test_launch_body_for_a_marker_object(fn):
    body = fn.launch_body("feeds", "drops/2026-11-25/afp-ar/_READY",
                          template="gs://t/newsnorm.json", output_prefix="gs://out/news/",
                          extra_parameters={"sdk_container_image": "img", "num_shards": 4,
                                            "input": "gs://elsewhere"})
    lp = body["launchParameter"]
    assert lp["containerSpecGcsPath"] == "gs://t/newsnorm.json"
    assert lp["parameters"] == {"input": "gs://feeds/drops/2026-11-25/afp-ar",
                                "output": "gs://out/news/drops/2026-11-25/afp-ar",
                                "sdk_container_image": "img", "num_shards": "4"}
    assert re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", lp["jobName"])
    # The same drop always gets the same job name (duplicate events); another drop another.
    again = fn.launch_body("feeds", "drops/2026-11-25/afp-ar/_READY", template="t",
                           output_prefix="o")
    other = fn.launch_body("feeds", "drops/2026-11-25/afp-fr/_READY", template="t",
                           output_prefix="o")
    assert again["launchParameter"]["jobName"] == lp["jobName"]
    assert other["launchParameter"]["jobName"] != lp["jobName"]
    # _SUCCESS (Spark, Beam sinks) completes a drop too: the same launch, the same job name.
    success = fn.launch_body("feeds", "drops/2026-11-25/afp-ar/_SUCCESS", template="t",
                             output_prefix="o")
    assert success["launchParameter"]["jobName"] == lp["jobName"]
    assert fn.launch_body("feeds", "drops/d/_SUCCESS", template="t", output_prefix="o",
                          marker="_READY") is None
    meta = {p["name"] for p in json.loads((DEPLOY / "metadata.json").read_text())["parameters"]}
    assert {"input", "output", "num_shards"} <= meta


@pytest.mark.parametrize("name", ["drops/d/articles.jsonl", "_READY", "drops/d/_READY.tmp",
                                  "drops/d/x_READY", ""])
def test_other_objects_launch_nothing(fn, name):
    assert fn.launch_body("b", name, template="t", output_prefix="o") is None


def test_handler_posts_the_body_and_treats_409_as_already_running(fn, monkeypatch, capsys):
    posted = []

    class Response:
        def __init__(self, status):
            self.status_code = status

        def raise_for_status(self):
            if self.status_code >= 400:
                raise RuntimeError(self.status_code)

        def json(self):
            return {"job": {"name": "newsnorm-x", "id": "123"}}

    statuses = [200, 409, 500]

    class Session:
        def __init__(self, credentials):
            assert credentials == "creds"

        def post(self, url, json, timeout):
            posted.append((url, json))
            return Response(statuses.pop(0))

    google = types.ModuleType("google")
    auth = types.ModuleType("google.auth")
    auth.default = lambda scopes: ("creds", "proj")
    transport = types.ModuleType("google.auth.transport")
    requests_mod = types.ModuleType("google.auth.transport.requests")
    requests_mod.AuthorizedSession = Session
    google.auth = auth
    auth.transport = transport
    transport.requests = requests_mod
    for name, mod in [("google", google), ("google.auth", auth),
                      ("google.auth.transport", transport),
                      ("google.auth.transport.requests", requests_mod)]:
        monkeypatch.setitem(sys.modules, name, mod)
    for k, v in {"NEWSNORM_TEMPLATE": "gs://t/n.json", "NEWSNORM_OUTPUT": "gs://o",
                 "PROJECT": "p", "REGION": "europe-west1"}.items():
        monkeypatch.setenv(k, v)
    handler = getattr(fn.on_object_finalized, "__wrapped__", fn.on_object_finalized)
    event = types.SimpleNamespace(data={"bucket": "b", "name": "d1/_READY"})
    handler(event)
    handler(event)
    with pytest.raises(RuntimeError):
        handler(event)
    handler(types.SimpleNamespace(data={"bucket": "b", "name": "d1/a.jsonl"}))  # no call
    assert len(posted) == 3
    url, body = posted[0]
    assert url == ("https://dataflow.googleapis.com/v1b3/projects/p/locations/europe-west1"
                   "/flexTemplates:launch")
    assert body["launchParameter"]["parameters"]["input"] == "gs://b/d1"
    out = capsys.readouterr().out
    assert "launched newsnorm-x (123)" in out and "already running" in out


def test_deploy_doctests_pass(fn):
    import doctest

    main = load_module(DEPLOY / "main.py", "newsnorm_deploy_main_doctest")
    for module in (main, fn):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
