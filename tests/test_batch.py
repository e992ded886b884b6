"""`planner batch` on Ray: a local 2-CPU cluster, a broken region, a killed task, a rerun, a
scenario, and a real two-node cluster started on loopback.

The regions are tiny (2–4 schools, a few seconds each, one solver worker). One local cluster
serves the module; it is started with a worker setup hook that, once armed by a file, kills
the first task that reaches the solver (the retry test).
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import ray

from models.validate import validate
from planner.batch import runner
from planner.batch.jobs import Settings, region_time_limit
from planner.batch.runner import run_batch, tidy, write_folder
from planner.exports.plan_io import read_plan
from planner.inputs.scenario import apply_scenario, read_scenario
from planner.inputs.validation import load_instance
from planner.tools.national import national_regions, write_region

FAST = Settings(time_limit=3.0, cpus=1, seed=0)


def kill_hook(arm: str, log: str):
    """A worker setup hook: when the file `arm` exists, the first call of the solver in any
    worker logs `start PID` and kills its own process 0.3 s later (SIGKILL, as the kernel's
    OOM killer or a lost node would); every armed call logs `start`/`end`."""

    def hook() -> None:
        import os
        import signal
        import threading

        import planner.workflows.solving as solving

        original = solving.solve_consultations

        def wrapped(*args, **kwargs):
            if not os.path.exists(arm):
                return original(*args, **kwargs)
            first = False
            try:
                os.close(os.open(arm + ".fired", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                first = True
            except FileExistsError:
                pass
            with open(log, "a") as fh:
                fh.write(f"start {os.getpid()}\n")
            if first:
                threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGKILL)).start()
            result = original(*args, **kwargs)
            with open(log, "a") as fh:
                fh.write(f"end {os.getpid()}\n")
            return result

        solving.solve_consultations = wrapped

    return hook


@pytest.fixture(scope="module")
def regions(tmp_path_factory) -> dict[str, Path]:
    """Three tiny regions of the national set (2, 3 and 4 schools) and a broken one."""
    root = tmp_path_factory.mktemp("regions")
    base = national_regions(1)
    made = {}
    for i, region in enumerate((base[0], base[7], base[62])):
        made[region.code] = write_region(root, replace(region, schools=2 + i), 1)
    broken = write_region(root, replace(base[1], code="r02-broken", schools=2), 1)
    schools = (broken / "schools.csv").read_text(encoding="utf-8").splitlines()
    header, first = schools[0].split(","), schools[1].split(",")
    first[header.index("municipality")] = "M99"  # no such municipality
    schools[1] = ",".join(first)
    (broken / "schools.csv").write_text("\n".join(schools) + "\n", encoding="utf-8")
    made["r02-broken"] = broken
    return made


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """A local cluster of 2 CPUs, a small object store, no dashboard; shut down at the end."""
    hooks = tmp_path_factory.mktemp("hooks")
    arm, log = hooks / "arm", hooks / "log"
    ray.init(address="local", num_cpus=2, object_store_memory=100 * 1024 * 1024, include_dashboard=False,
             log_to_driver=False, runtime_env={"worker_process_setup_hook": kill_hook(str(arm), str(log))})
    try:
        yield arm, log
    finally:
        ray.shutdown()


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_three_regions_on_a_local_cluster_a_broken_one_fails_alone_and_a_scenario_runs(
        local_ray, regions, tmp_path):
    good = [regions[c] for c in ("r01", "r08", "r63")]
    scen = tmp_path / "scenarios"
    (scen / "r01").mkdir(parents=True)
    consultant = read_csv(regions["r01"] / "consultants.csv")[0]["id"]
    (scen / "r01" / "ill.toml").write_text(
        f'name = "{consultant} болеет с октября"\nfreeze_before = 2022-10-01\n\n'
        f'[[consultant_unavailable]]\nconsultant = "{consultant}"\nfrom = 2022-10-01\nto = 2022-12-31\n',
        encoding="utf-8")
    (scen / "r02-broken").mkdir()
    (scen / "r02-broken" / "any.toml").write_text('name = "x"\nfreeze_before = 2022-10-01\n', encoding="utf-8")
    out = tmp_path / "out"
    lines: list[str] = []

    result = run_batch([*good, regions["r02-broken"]], out, FAST, scenarios_dir=scen, progress=lines.append)

    by = {r.label: r for r in result.rows}
    assert [r.label for r in result.rows] == ["r01", "r01/ill", "r08", "r63", "r02-broken", "r02-broken/any"]
    assert {label: r.status for label, r in by.items()} == {
        "r01": "ok", "r01/ill": "ok", "r08": "ok", "r63": "ok", "r02-broken": "failed", "r02-broken/any": "failed"}
    # The broken region fails with its Russian message naming file, column and value; nothing is written.
    reason = by["r02-broken"].reason
    assert "schools.csv" in reason and "municipality" in reason and "M99" in reason
    assert not (out / "r02-broken").exists()
    assert by["r02-broken/any"].reason == "план региона не построен"
    # The progress counted every region and scenario as it finished.
    counted = [line for line in lines if line.startswith("[")]
    assert len(counted) == 6 and counted[-1].split()[1] == "6/6"

    for code, path in zip(("r01", "r08", "r63"), good):
        folder = out / code
        plan = read_plan(folder / "plan.json")
        instance, _ = load_instance(path)
        assert plan.instance == code and plan.meta["instance_path"] == str(path)
        assert validate(instance, plan) == []  # the independent validator, on the plan read back
        assert {"plan.csv", "appendix.docx", "plan.xlsx", "report.html", "batch.json"} <= {
            p.name for p in folder.iterdir()}
        assert (folder / "calendars" / "all.ics").read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR")
        row = by[code]
        assert row.schools == len(instance.schools) == {"r01": 2, "r08": 3, "r63": 4}[code]
        assert row.coverage == pytest.approx(plan.score["coverage_share"], abs=1e-4)
        assert row.km == plan.score["travel_km"] and row.unmet == len(plan.unmet)
        assert row.topics_held == plan.score["topics_held"] and row.longest_gap == plan.score["longest_gap"]
        assert row.seconds > 0 and row.peak_mb > 50
    # Tasks ran on the two CPUs of one node: each used the one CPU it declared (solver workers = 1).
    assert len({by[c].node for c in ("r01", "r08", "r63")}) == 1
    assert all(read_plan(out / c / "plan.json").meta["workers"] == 1 for c in ("r01", "r08", "r63"))

    # The scenario: replanned against r01's plan, checked against the instance it changed.
    folder = out / "r01" / "scenarios" / "ill"
    replanned = read_plan(folder / "plan.json")
    instance, _ = load_instance(regions["r01"])
    changed = apply_scenario(read_scenario(scen / "r01" / "ill.toml"), instance)
    assert validate(changed, replanned) == []
    assert not [s for s in replanned.sessions if s.consultant == consultant and s.start.date().isoformat() >= "2022-10"]
    assert (folder / "changes.md").read_text(encoding="utf-8").startswith("# Изменения графика консультаций")

    # batch.csv, read back: every row, the failure's reason in it.
    table = read_csv(out / "batch.csv")
    assert [(r["region"], r["scenario"], r["status"]) for r in table] == [
        (r.region, r.scenario, r.status) for r in result.rows]
    assert "M99" in table[4]["reason"]
    assert float(table[0]["coverage"]) == by["r01"].coverage

    # The rerun: nothing changed, nothing is planned again; a changed region alone is.
    before = {c: (out / c / "plan.json").stat().st_mtime_ns for c in ("r01", "r08", "r63")}
    again = run_batch([*good, regions["r02-broken"]], out, FAST, scenarios_dir=scen, progress=lines.append)
    assert {r.label: r.status for r in again.rows} == {
        "r01": "current", "r01/ill": "current", "r08": "current", "r63": "current",
        "r02-broken": "failed", "r02-broken/any": "failed"}
    assert {c: (out / c / "plan.json").stat().st_mtime_ns for c in before} == before
    schools = regions["r08"] / "schools.csv"
    schools.write_text(schools.read_text(encoding="utf-8").replace(",2,", ",1,", 1), encoding="utf-8")
    mark = len(lines)
    third = run_batch(good, out, FAST, scenarios_dir=scen, progress=lines.append)
    assert any("r02-broken" in line and "пропущены" in line for line in lines[mark:])  # its scenarios
    assert {r.label: r.status for r in third.rows} == {"r01": "current", "r01/ill": "current", "r08": "ok",
                                                       "r63": "current"}
    assert (out / "r08" / "plan.json").stat().st_mtime_ns != before["r08"]
    # Other settings make every output stale.
    assert {r.status for r in run_batch(good[:1], out, replace(FAST, seed=1), progress=lines.append).rows} == {"ok"}


def test_the_command_exits_non_zero_when_a_region_failed_and_prints_the_table(local_ray, regions, tmp_path, capsys):
    from planner.cli.main import main

    code = main(["batch", str(regions["r63"]), str(regions["r02-broken"]), "--out", str(tmp_path / "o"),
                 "--time-limit", "3", "--no-documents", "--no-calendars"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "Регион" in printed and "Покрытие" in printed and "ОШИБКА" in printed
    assert "Не построено (1):" in printed and "M99" in printed
    assert not (tmp_path / "o" / "r63" / "report.html").exists()  # --no-documents
    assert (tmp_path / "o" / "r63" / "plan.json").exists()


def test_a_task_killed_mid_solve_is_retried(local_ray, regions, tmp_path):
    arm, log = local_ray
    arm.write_text("armed")
    try:
        result = run_batch([regions["r63"]], tmp_path / "out", replace(FAST, time_limit=4.0), progress=lambda _: None)
    finally:
        arm.unlink()
    entries = [line.split() for line in log.read_text().splitlines()]
    starts = [int(pid) for what, pid in entries if what == "start"]
    ends = [int(pid) for what, pid in entries if what == "end"]
    assert len(starts) == 2 and starts[0] != starts[1]  # two attempts, in two processes
    assert starts[0] not in ends  # the first was killed before its solve returned
    assert ends == [starts[1]]
    with pytest.raises(ProcessLookupError):
        os.kill(starts[0], 0)
    assert [r.status for r in result.rows] == ["ok"]
    plan = read_plan(tmp_path / "out" / "r63" / "plan.json")
    assert validate(load_instance(regions["r63"])[0], plan) == []


def test_a_region_folder_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    folder = tmp_path / "r01"
    write_folder(folder, {"plan.json": "old", "calendars/all.ics": "old"}, {"key": "a"})

    def broken(out_dir, files):  # the disk fills up half-way
        (Path(out_dir) / "plan.json").write_text("half")
        raise OSError("No space left on device")

    monkeypatch.setattr(runner, "write_bundle", broken)
    with pytest.raises(OSError):
        write_folder(folder, {"plan.json": "new"}, {"key": "b"})
    assert (folder / "plan.json").read_text() == "old" and (folder / "calendars" / "all.ics").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r01"]
    # Stopped between the two renames: the old folder was moved aside, the new one not in place.
    os.rename(folder, tmp_path / ".r01.old-1234")
    (tmp_path / ".r02.new-abcd").mkdir()
    tidy(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r01"]
    assert json.loads((folder / "batch.json").read_text())["key"] == "a"


def test_the_time_limit_grows_with_the_region_and_fits_the_national_set():
    assert region_time_limit(10) == 5.0 and region_time_limit(300) == 16.0
    assert region_time_limit(100) == 8.0
    sizes = [r.schools for r in national_regions(1)]
    assert len(sizes) == 84 and sum(sizes) == 3000 and max(sizes) == 300 and min(sizes) >= 10
    # Solver time at most, on two CPUs, leaves most of the ten minutes for everything else.
    assert sum(region_time_limit(n) for n in sizes) / 2 < 300


# --- two nodes for real ------------------------------------------------------------------------


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def node_args(ports: list[int]) -> list[str]:
    """Every port a node listens on, chosen free: two nodes share this host, and other
    programs' Ray clusters may be running on it too."""
    manager, objects, metrics, agent_http, agent_grpc, runtime_env = ports
    return ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--object-store-memory", str(100 * 1024 * 1024),
            "--node-manager-port", str(manager), "--object-manager-port", str(objects),
            "--metrics-export-port", str(metrics), "--dashboard-agent-listen-port", str(agent_http),
            "--dashboard-agent-grpc-port", str(agent_grpc), "--runtime-env-agent-port", str(runtime_env),
            "--disable-usage-stats", "--block"]


def stop_node(proc: subprocess.Popen, marker: str) -> None:
    """Stop one `ray start --block` and every process it started (found by our temp dir in
    their command line); never `ray stop`, which would stop other programs' clusters too."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = ours(marker)
        if not left:
            return
        time.sleep(0.5)
    for pid in ours(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def ours(marker: str) -> list[int]:
    """The processes of our two nodes: those whose command line names our temp dir, or that
    hold a file open in it (Ray's agents rename their command line to `ray::…`)."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            found = marker.encode() in Path(f"/proc/{entry.name}/cmdline").read_bytes()
            if not found:
                found = any(os.readlink(fd.path).startswith(marker) for fd in os.scandir(f"/proc/{entry.name}/fd"))
        except OSError:
            continue
        if found:
            pids.append(int(entry.name))
    return pids


def test_two_nodes_started_on_loopback_share_the_batch(regions, tmp_path):
    if ray.is_initialized():  # this test's driver is the `planner batch` process
        ray.shutdown()
    ray_cli = str(Path(sys.executable).parent / "ray")
    temp = Path("/tmp") / f"planner-batch-test-{os.getpid()}-{time.monotonic_ns() % 10**6}"  # short: socket paths
    # The cluster's own token, given to every process of it (head, second node, driver): Ray
    # turns token authentication on for `ray start` when ~/.ray/auth_token exists, but never
    # for a driver given an address, so the mode is said explicitly, as a team would.
    token = tmp_path / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    gcs, *ports = free_ports(13)
    address = f"127.0.0.1:{gcs}"
    logs = []
    procs: list[subprocess.Popen] = []
    try:
        head_log = open(tmp_path / "head.log", "w")
        logs.append(head_log)
        procs.append(subprocess.Popen(
            [ray_cli, "start", "--head", "--port", str(gcs),
             "--include-dashboard=false", "--temp-dir", str(temp), *node_args(ports[:6])],
            stdout=head_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env))
        wait_for_port(gcs, procs[0], tmp_path / "head.log")
        worker_log = open(tmp_path / "worker.log", "w")
        logs.append(worker_log)
        procs.append(subprocess.Popen(
            [ray_cli, "start", "--address", address, *node_args(ports[6:12])],
            stdout=worker_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env))
        wait_for_nodes(address, 2, procs, tmp_path, env)
        out = tmp_path / "out"
        done = subprocess.run(
            [sys.executable, "-m", "planner.cli", "batch", *(str(regions[c]) for c in ("r01", "r08", "r63")),
             "--address", address, "--out", str(out), "--time-limit", "3", "--no-documents"],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env, timeout=300)
        assert done.returncode == 0, done.stderr + done.stdout + (tmp_path / "worker.log").read_text()
        assert "узлов 2, CPU 2" in done.stderr
        nodes = {json.loads((out / c / "batch.json").read_text())["row"]["node"] for c in ("r01", "r08", "r63")}
        assert len(nodes) == 2 and "" not in nodes  # the tasks ran on both nodes
        for c in ("r01", "r08", "r63"):
            assert validate(load_instance(regions[c])[0], read_plan(out / c / "plan.json")) == []
    finally:
        for proc in reversed(procs):
            stop_node(proc, str(temp))
        for fh in logs:
            fh.close()
        assert not ours(str(temp))
        import shutil

        shutil.rmtree(temp, ignore_errors=True)


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("ray start --head stopped:\n" + log.read_text())
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError("the head node did not listen in time:\n" + log.read_text())


def wait_for_nodes(address: str, n: int, procs: list[subprocess.Popen], logs: Path, env: dict,
                   timeout: float = 90) -> None:
    """Until the cluster has `n` live nodes (the second one registers a few seconds after it
    starts); asked from another process, which carries the cluster's token."""
    script = (f"import ray, time\nray.init(address={address!r}, log_to_driver=False)\n"
              f"t = time.monotonic()\n"
              f"while len([x for x in ray.nodes() if x.get('Alive')]) < {n} and time.monotonic() - t < {timeout}:\n"
              f"    time.sleep(0.5)\n"
              f"print(len([x for x in ray.nodes() if x.get('Alive')]))\nray.shutdown()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=timeout + 60)
    alive = done.stdout.strip().splitlines()[-1:] == [str(n)]
    if not alive or any(p.poll() is not None for p in procs):
        raise AssertionError("the nodes did not come up:\n" + done.stdout + done.stderr + "".join(
            f.read_text() for f in sorted(logs.glob("*.log"))))


# --- a task, without Ray ---------------------------------------------------------------------


def test_a_task_short_of_time_for_the_calendar_tries_once_with_twice_the_time_then_fails(regions, monkeypatch):
    """A solve that could not put every chosen consultation in the calendar (a loaded machine:
    the date phase got its last 2 s) is not a plan to write: the task solves once more with
    twice the time, and fails with its reason when that too falls short."""
    import planner.workflows.solving as solving
    from planner.batch.jobs import Job, instance_files
    from planner.batch.task import figures, run_job

    real = solving.plan_instance
    limits: list[float] = []
    short = {"left": 1}

    def plan_instance(instance, opts, path=None):
        limits.append(opts.time_limit)
        plan = real(instance, opts, path)
        if short["left"]:
            short["left"] -= 1
            next(p for p in plan.meta["phases"] if p["name"] == "dates")["objective"] = 3.0
        return plan

    monkeypatch.setattr(solving, "plan_instance", plan_instance)
    files = instance_files(regions["r01"])
    job = Job("r01", str(regions["r01"]), files, replace(FAST, documents=False, calendars=False), 2)
    result = run_job(job.plain())
    assert result["status"] == "ok" and limits == [3.0, 6.0]
    assert json.loads(result["files"]["plan.json"])["meta"]["time_limit"] == 6.0

    limits.clear()
    short["left"] = 2
    result = run_job(job.plain())
    assert result["status"] == "failed" and limits == [3.0, 6.0]
    assert "не успел поставить в календарь консультаций: 3" in result["reason"] and not result["files"]

    # A bound above the objective of a minimisation is no bound: the gap is left empty.
    plan = real(load_instance(regions["r01"])[0], solving.SolveOptions(time_limit=3, workers=1))
    plan.objective, plan.bound = -100.0, 0.0
    assert figures(plan, 2)["gap"] is None
    plan.bound = -120.0
    assert figures(plan, 2)["gap"] == pytest.approx(0.2)
