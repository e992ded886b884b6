"""One job in its own process: `python -m planner.web.worker DATA_DIR JOB_ID`.

The server's dispatcher starts it (a new process group, so that cancelling ends the solver and
the processes it forks for the documents). It reads the instance the job names, solves it,
writes every file of the plan into DATA_DIR/plans/<plan id>/ and hands the plan over in one
transaction. Progress goes to the job's row as the solver reports it, and every half second
(elapsed time). It stops on its own when the job is no longer running (cancelled, or failed by
a restarted server) or when the server that started it is gone.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
import traceback
from pathlib import Path

from planner.web import app_services as svc
from planner.web import store
from planner.web.db import connect, new_id
from planner.web.progress import fold
from planner.web.uploads import instance_source

TICK = 0.5


class Reporter:
    """Folds the solver's lines into the job's progress and stores it (thread-safe)."""

    def __init__(self, data: Path, job_id: str):
        self.conn = connect(data)
        self.job_id = job_id
        self.t0 = time.monotonic()
        self.progress: dict = {"message": "Запускаю расчёт…", "elapsed": 0.0}
        self.lock = threading.Lock()
        self.db_lock = threading.Lock()  # one connection, two threads (solver callback, ticker)

    def line(self, text: str) -> None:
        with self.lock:
            self.progress = fold(self.progress, text)
        self.store()

    def store(self) -> None:
        with self.lock:
            self.progress["elapsed"] = round(time.monotonic() - self.t0, 1)
            snapshot = dict(self.progress)
        with self.db_lock:
            still_running = store.update_progress(self.conn, self.job_id, snapshot)
        if not still_running:
            _stop()

    def snapshot(self) -> dict:
        with self.lock:
            self.progress["elapsed"] = round(time.monotonic() - self.t0, 1)
            return dict(self.progress)


def _stop() -> None:
    """The job is no longer ours (cancelled) or the server is gone: end now, write nothing."""
    os._exit(0)


def _watch(reporter: Reporter, parent: int) -> None:
    while True:
        time.sleep(TICK)
        if os.getppid() != parent:
            _stop()
        reporter.store()  # also notices a cancel: the update finds the job no longer running


def run(data: Path, job_id: str) -> int:
    conn = connect(data)
    job = store.get_job(conn, job_id)
    if job is None or job["status"] != "running":
        return 0
    reporter = Reporter(data, job_id)
    threading.Thread(target=_watch, args=(reporter, os.getppid()), daemon=True).start()
    params = json.loads(job["params"])
    instance_row = store.get_instance(conn, job["instance_id"])
    staging: list[Path] = []
    try:
        if job["kind"] == "publish":
            return _deliver(data, conn, job, params, reporter)
        reporter.line("Читаю экземпляр…")
        source = instance_source(data, instance_row["id"], instance_row["source_kind"])
        instance, _warnings = svc.load_instance_as(source, instance_row["name"], instance_row["original_name"])
        reporter.line(f"  школ {len(instance.schools)}, консультантов {len(instance.consultants)},"
                      f" тем {len(instance.topics)}")
        if job["kind"] == "replan":
            return _replan(data, conn, job, params, reporter, instance, staging)
        plan_id = new_id()
        plan_dir = data / "plans" / plan_id
        staging.append(data / "plans" / f".{plan_id}.partial")
        plan = svc.solve_plan(instance, time_limit=float(params["time_limit"]), workers=int(params["workers"]),
                              progress=reporter.line, instance_label=instance_row["original_name"])
        reporter.line("Готовлю документы и календари…")
        files = svc.plan_files(instance, plan)
        _write_files(staging[0], files)
        _zip_calendars(staging[0])
        os.replace(staging[0], plan_dir)
        reporter.line(f"Готово: консультаций {len(plan.sessions)}, непокрытых потребностей {len(plan.unmet)}")
        if not store.finish_job(conn, job_id, _record(plan_id, plan), reporter.snapshot()):
            shutil.rmtree(plan_dir, ignore_errors=True)
        return 0
    except svc.InputError as exc:
        lines = "; ".join(p.render() for p in exc.errors[:10])
        store.fail_job(conn, job_id, f"Данные не прошли проверку: {lines}")
    except svc.PlanInvalid as exc:
        store.fail_job(conn, job_id, f"Внутренняя ошибка: {exc}. План не сохранён; сообщите разработчикам.")
    except HeldInvalid as exc:
        store.fail_job(conn, job_id, str(exc))
    except Exception as exc:  # noqa: BLE001 (a person reads this: no traceback on the page; it goes to the log)
        traceback.print_exc(file=sys.stderr)
        store.fail_job(conn, job_id, f"Внутренняя ошибка программы: {type(exc).__name__}: {exc}."
                                     " Сообщите разработчикам.")
    for folder in staging:
        shutil.rmtree(folder, ignore_errors=True)
    return 1


class HeldInvalid(Exception):
    """Edits by hand that a replan cannot keep (the message is for a person)."""


def _record(plan_id: str, plan) -> store.PlanRecord:
    return store.PlanRecord(plan_id, plan.status, plan.objective, plan.bound, plan.solve_seconds,
                            len(plan.sessions), len(plan.unmet), dict(plan.score))


def _replan(data: Path, conn, job, params: dict, reporter: Reporter, base_instance, staging: list[Path]) -> int:
    """A replan: the baseline's history of scenarios and this job's (and/or edits by hand
    held as they are) → one or two checked plans → the instance's next versions."""
    from datetime import date

    chain = store.history(conn, job["baseline_id"])
    texts = [r["scenario"] for r in chain if r["scenario"]]
    own = job["scenario"]
    before = svc.changed_instance(base_instance, texts)  # the instance the baseline belongs to
    baseline_path = data / "plans" / job["baseline_id"] / "plan.json"
    original = svc.plan_from_json(baseline_path)
    baseline, held = original, []
    edits = params.get("edits") or []
    if edits:
        edited = svc.apply_edits(before, original, edits)
        if edited.problems:
            raise HeldInvalid("Правки не применить: " + "; ".join(edited.problems))
        baseline, held = edited.plan, edited.held
        reporter.line(f"Правки вручную: {len(edits)}; консультаций держим как есть: {len(held)}")
        if params.get("save_only"):
            return _save_edited(data, conn, job, edited, edits, texts, reporter, before, staging)
    all_texts = texts + ([own] if own else [])
    instance = svc.changed_instance(base_instance, all_texts)
    merged = svc.merged_scenario(all_texts)
    name = svc.parse_scenario_text(own, "сценарий").name if own else "правки вручную"
    if own:
        reporter.line(f"Сценарий «{name}»")
    freeze = date.fromisoformat(params["freeze"])
    try:
        found = svc.replan_plan(instance, baseline, freeze, time_limit=float(params["time_limit"]),
                                workers=int(params["workers"]), progress=reporter.line, scenario_name=name, held=held)
    except svc.PlanInvalid as exc:
        if held:
            raise HeldInvalid("Закреплённые и изменённые вручную консультации остаются как есть, а с ними план"
                              f" нарушает правила: {exc}. Измените правки (смотрите нарушения на странице правки)"
                              " и повторите.") from None
        raise
    if found.plans[found.chosen].status not in ("OPTIMAL", "FEASIBLE"):
        raise HeldInvalid(f"Перепланирование не нашло плана за {float(params['time_limit']):g} с (решатель:"
                          f" {found.plans[found.chosen].status}). Увеличьте время расчёта и повторите.")
    reporter.line("Готовлю документы и календари…")
    order = [found.chosen] + [o for o in found.plans if o != found.chosen and found.plans[o] is not None]
    both = len(order) > 1
    versions, dirs = [], []
    for option in order:
        plan = found.plans[option]
        plan_id = new_id()
        partial = data / "plans" / f".{plan_id}.partial"
        staging.append(partial)
        files = svc.plan_files(instance, plan)
        if merged is not None:
            path = data / "plans" / plan_id / "scenario.toml"
            plan.meta["scenario_path"] = str(path)
            files["scenario.toml"] = svc.scenario_text(merged)
            files["plan.json"] = svc.plan_to_json(plan)
        report_plan = plan
        if edits:  # the change report against the plan the edits started from
            import dataclasses

            report_plan = dataclasses.replace(plan, meta={**plan.meta, "changes": svc.plan_changes(original, plan)})
        files["changes.md"] = svc.change_report(instance, original, report_plan, found.plans)
        _write_files(partial, files)
        _zip_calendars(partial)
        versions.append(store.VersionRecord(_record(plan_id, plan), option if both else None))
        dirs.append((partial, data / "plans" / plan_id))
    for partial, final in dirs:
        os.replace(partial, final)
    chosen = found.plans[found.chosen]
    reporter.line(f"Готово: консультаций {len(chosen.sessions)}, непокрытых потребностей {len(chosen.unmet)}"
                  + ("; два варианта — выберите один" if both else ""))
    if not store.finish_replan_job(conn, job["id"], versions, kind="replan", freeze=freeze.isoformat(),
                                   edits=edits or None, progress=reporter.snapshot()):
        for _partial, final in dirs:
            shutil.rmtree(final, ignore_errors=True)
    return 0


def _save_edited(data: Path, conn, job, edited, edits: list, texts: list[str], reporter: Reporter, instance,
                 staging: list[Path]) -> int:
    """Edits by hand saved as they are: a version of its own, only when it breaks no rule."""
    if edited.violations:
        lines = "; ".join(v.render() for v in edited.violations[:5])
        raise HeldInvalid(f"План с правками нарушает правила ({len(edited.violations)}): {lines}. Исправьте правки"
                          " или выберите «Перепланировать остальное».")
    plan = edited.plan
    plan_id = new_id()
    partial = data / "plans" / f".{plan_id}.partial"
    staging.append(partial)
    merged = svc.merged_scenario(texts)
    files = {}
    if merged is not None:
        plan.meta["scenario_path"] = str(data / "plans" / plan_id / "scenario.toml")
        files["scenario.toml"] = svc.scenario_text(merged)
    reporter.line("Готовлю документы и календари…")
    files.update(svc.plan_files(instance, plan))
    _write_files(partial, files)
    _zip_calendars(partial)
    os.replace(partial, data / "plans" / plan_id)
    reporter.line(f"Готово: консультаций {len(plan.sessions)}, непокрытых потребностей {len(plan.unmet)}")
    base = store.get_plan(conn, job["baseline_id"])
    if not store.finish_replan_job(conn, job["id"], [store.VersionRecord(_record(plan_id, plan), None)], kind="edit",
                                   freeze=base["freeze"], edits=edits, progress=reporter.snapshot()):
        shutil.rmtree(data / "plans" / plan_id, ignore_errors=True)
    return 0


def _deliver(data: Path, conn, job, params: dict, reporter: Reporter) -> int:
    """A publication's delivery: the CalDAV push (`planner publish`'s logic) and the letters."""
    pub = store.get_publication(conn, params["publication"])
    plan_row = store.get_plan(conn, pub["plan_id"])
    instance_row = store.get_instance(conn, pub["instance_id"])
    source = instance_source(data, instance_row["id"], instance_row["source_kind"])
    base, _w = svc.load_instance_as(source, instance_row["name"], instance_row["original_name"])
    texts = [r["scenario"] for r in store.history(conn, plan_row["id"]) if r["scenario"]]
    instance = svc.changed_instance(base, texts)
    plan = svc.plan_from_json(data / "plans" / plan_row["id"] / "plan.json")
    delivery: dict = {}
    problems = []
    if params.get("caldav"):
        target = store.caldav_target(conn, instance_row["id"])
        if target is None:
            problems.append("CalDAV-сервер для экземпляра не задан")
        else:
            reporter.line(f"Календари на CalDAV-сервер {target['url']}…")
            try:
                report = svc.publish_caldav(instance, plan, target["url"], target["username"], target["password"],
                                            progress=reporter.line)
                delivery["caldav"] = {"ok": True, "summary": report.summary(), "created": report.created,
                                      "updated": report.updated, "cancelled": report.cancelled,
                                      "unchanged": report.unchanged}
                reporter.line(report.summary())
            except svc.InputError as exc:
                text = "; ".join(p.message for p in exc.errors)
                delivery["caldav"] = {"ok": False, "error": text}
                problems.append(f"CalDAV: {text}")
    if params.get("email"):
        settings = svc.smtp_settings(data / "smtp.toml")
        if settings is None:
            problems.append("почта не настроена (нет файла smtp.toml в папке данных)")
        else:
            digests = [svc.digest_from_dict(d) for d in json.loads(pub["digest"])]
            folder = data / "feeds" / instance_row["id"]
            feeds = {p.stem: p.read_bytes() for p in folder.glob("*.ics")}
            heading = f"Опубликована версия № {pub['version']} графика консультаций «{instance_row['name']}»."
            pairs = svc.letters_for(digests, feeds, store.addresses(conn, instance_row["id"]), settings.address,
                                    heading)
            reporter.line(f"Письма участникам: {len(pairs)}…")
            by_letter = {id(letter): d for d, letter in pairs}
            sent = failed = 0
            for letter, error in svc.send_letters(settings, [letter for _d, letter in pairs]):
                d = by_letter[id(letter)]
                store.add_letter(conn, pub["id"], d.kind, d.party, letter.to, letter.subject, len(letter.attachments),
                                 error)
                sent, failed = sent + (error is None), failed + (error is not None)
                if error:
                    problems.append(f"письмо {letter.to}: {error}")
            delivery["email"] = {"sent": sent, "failed": failed}
            reporter.line(f"Писем отправлено: {sent}, не отправлено: {failed}")
    store.set_delivery(conn, pub["id"], delivery)
    if problems:
        store.fail_job(conn, job["id"], "Публикация в ленты выполнена, но доставка не удалась: "
                       + "; ".join(dict.fromkeys(problems))[:2000])
        return 1
    store.finish_plain_job(conn, job["id"], reporter.snapshot())
    return 0


def _write_files(folder: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def _zip_calendars(folder: Path) -> None:
    import zipfile

    calendars = sorted((folder / "calendars").glob("*.ics"))
    with zipfile.ZipFile(folder / "calendars.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for path in calendars:
            zf.write(path, f"calendars/{path.name}")


def main() -> None:
    data, job_id = Path(sys.argv[1]), sys.argv[2]
    code = run(data, job_id)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip the teardown of OR-Tools and pandas: everything is stored


if __name__ == "__main__":
    main()
