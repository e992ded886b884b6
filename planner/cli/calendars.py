"""Calendar commands: `planner export ics`, `planner publish`, `planner calendar-server`.

Thin: parse arguments, call `planner.exports.calendars` / `planner.calendar_sync.caldav_publish` /
`planner.calendar_sync.calendar_server`, print a Russian summary.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from models.problems import InputError, Problem
from planner.cli.export import add_plan_arguments, export_subparsers, load_plan_for_export

PASSWORD_ENV = "PLANNER_CALDAV_PASSWORD"
CALENDAR_FILE_PREFIXES = ("all", "consultant-", "school-", "municipality-", "roadmap", "executor-")


def register(sub: argparse._SubParsersAction) -> None:
    p = export_subparsers(sub).add_parser(
        "ics", help="календари .ics: общий и для каждого консультанта, школы, муниципалитета",
        description="Записать календари iCalendar (RFC 5545) плана в папку calendars/.",
    )
    add_plan_arguments(p)
    p.set_defaults(func=_cmd_export_ics)

    p = sub.add_parser(
        "publish", help="опубликовать календари плана на сервере CalDAV",
        description="Каждому консультанту, школе и муниципалитету — свой календарь на сервере CalDAV "
                    "(Radicale, Nextcloud, Яндекс Календарь). Повторная публикация меняет только то, "
                    "что изменилось в плане.",
    )
    p.add_argument("plan", help="файл плана plan.json")
    p.add_argument("--caldav", required=True, metavar="URL",
                   help="адрес CalDAV, например http://127.0.0.1:5232/")
    p.add_argument("--user", help="имя пользователя на сервере")
    p.add_argument("--password-file", metavar="ФАЙЛ",
                   help=f"файл с паролем (первая строка); иначе переменная окружения {PASSWORD_ENV}")
    p.add_argument("--instance", help="экземпляр, из которого построен план "
                                      "(по умолчанию — путь, записанный в плане)")
    p.add_argument("--urls", metavar="ФАЙЛ.csv",
                   help="записать адреса всех календарей (календарь, название, адрес) в CSV")
    p.set_defaults(func=_cmd_publish)

    p = sub.add_parser(
        "calendar-server", help="запустить встроенный сервер календарей (Radicale) на этом компьютере",
        description="Запускает Radicale на 127.0.0.1 с хранилищем в outputs/calendar-server/ и "
                    "работает до Ctrl+C. При первом запуске создаёт пользователя и файл с его паролем.",
    )
    p.add_argument("--port", type=int, default=None, help="порт (по умолчанию 5232)")
    p.add_argument("--storage", help="папка хранилища (по умолчанию outputs/calendar-server)")
    p.add_argument("--user", default=None, help="пользователь (по умолчанию planner); создаётся, если его нет")
    p.set_defaults(func=_cmd_calendar_server)


# --- export ics ---------------------------------------------------------------------------


def write_calendars(out_dir: Path, files: dict[str, bytes]) -> tuple[list[Path], list[Path]]:
    """Write `calendar_files(...)` under `out_dir`; remove our older .ics files it no longer has.

    Returns (written, removed). Only files named like ours (all.ics, consultant-*.ics,
    school-*.ics, municipality-*.ics, roadmap.ics, executor-*.ics) in `calendars/` are ever
    removed.
    """
    from planner.exports.plan_io import write_bundle

    written = write_bundle(out_dir, files)
    keep = {p.resolve() for p in written}
    removed = []
    folder = out_dir / "calendars"
    for path in sorted(folder.glob("*.ics")):
        if path.resolve() not in keep and path.stem.startswith(CALENDAR_FILE_PREFIXES):
            path.unlink()
            removed.append(path)
    return written, removed


def _cmd_export_ics(args: argparse.Namespace) -> int:
    from planner.exports.calendars import calendar_files
    from planner.exports.roadmap_calendars import roadmap_calendar_files

    _plan_path, plan, instance, out_dir = load_plan_for_export(args)
    files = calendar_files(instance, plan)
    files.update(roadmap_calendar_files(instance, plan))
    written, removed = write_calendars(out_dir, files)
    kinds = Counter(Path(rel).stem.split("-", 1)[0] for rel in files)
    print(f"Календари записаны в {out_dir / 'calendars'}: {len(written)} файлов — общий all.ics, "
          f"консультантов {kinds['consultant']}, школ {kinds['school']}, "
          f"муниципалитетов {kinds['municipality']}"
          + (f", дорожная карта и исполнителей {kinds['executor']}." if kinds["roadmap"] else "."))
    print(f"Консультаций в календарях: {len(plan.sessions)}; отменённых при перепланировании: "
          f"{len(plan.cancelled)}. Время — часовой пояс {instance.settings.region.timezone}.")
    if removed:
        print(f"Удалены устаревшие календари: {', '.join(p.name for p in removed)}")
    return 0


# --- publish ------------------------------------------------------------------------------


def read_password(args: argparse.Namespace) -> str | None:
    """The password from --password-file (first line) or the environment; None without a user."""
    if args.password_file:
        path = Path(args.password_file)
        try:
            text = path.read_text(encoding="utf-8-sig")  # a BOM from Notepad is not part of it
        except FileNotFoundError:
            raise InputError([Problem(str(path), "файл пароля не найден", column="--password-file")]) from None
        except (OSError, UnicodeDecodeError):
            raise InputError([Problem(str(path), "файл пароля не читается (нужен текст UTF-8)",
                                      column="--password-file")]) from None
        lines = text.splitlines()
        if not lines or not lines[0]:
            raise InputError([Problem(str(path), "файл пароля пуст", column="--password-file")])
        return lines[0]
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if args.user:
        raise InputError([Problem("командная строка",
                                  f"для пользователя «{args.user}» нужен пароль: --password-file ФАЙЛ "
                                  f"или переменная окружения {PASSWORD_ENV}", column="--password-file")])
    return None


def _cmd_publish(args: argparse.Namespace) -> int:
    from planner.calendar_sync.caldav_publish import calendar_prefix, publish_plan
    from planner.exports.plan_io import instance_for_plan, read_plan

    password = read_password(args)
    plan_path = Path(args.plan)
    plan = read_plan(plan_path)
    instance = instance_for_plan(plan, plan_path, args.instance)
    print(f"Публикация плана «{plan.instance}» на {args.caldav} ...", file=sys.stderr, flush=True)
    report = publish_plan(
        instance, plan, args.caldav, username=args.user, password=password,
        progress=lambda line: print("  " + line, file=sys.stderr, flush=True),
    )
    print(report.summary())
    urls = report.calendar_urls
    if urls:
        print("Адреса календарей для подписки (CalDAV, тот же пользователь):")
        shown = list(urls) if len(urls) <= 20 else [k for k in urls if k == "all"][:1] or list(urls)[:1]
        for key in shown:
            title, url = urls[key]
            print(f"  {title}: {url}")
        if len(urls) > len(shown):
            base = urls[shown[0]][1].rstrip("/").rsplit("/", 1)[0]
            example = next((k for k in urls if k.startswith("consultant-")), "consultant-<id>")
            print(f"  ... и ещё {len(urls) - len(shown)}: {base}/{calendar_prefix(instance)}-<календарь>/, "
                  f"где <календарь> — consultant-<id>, school-<id> или municipality-<id> "
                  f"(например {urls.get(example, ('', base + '/…'))[1]}); "
                  "полный список — с ключом --urls ФАЙЛ.csv")
    if args.urls:
        import csv
        import io

        from planner.exports.plan_io import write_atomic

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["calendar", "title", "url"])
        for key, (title, url) in urls.items():
            writer.writerow([key, title, url])
        write_atomic(Path(args.urls), buf.getvalue())
        print(f"Адреса всех календарей записаны в {args.urls}")
    return 0


# --- calendar-server ----------------------------------------------------------------------


def _cmd_calendar_server(args: argparse.Namespace) -> int:
    from planner.calendar_sync import calendar_server as cs

    paths = cs.ServerPaths(Path(args.storage) if args.storage else cs.DEFAULT_STORAGE)
    port = args.port if args.port is not None else cs.DEFAULT_PORT
    if not 1 <= port <= 65535:
        raise InputError([Problem("командная строка", "порт — число от 1 до 65535", column="--port",
                                  value=str(port))])
    user = args.user or cs.DEFAULT_USER
    pw_file, created = cs.ensure_user(paths, user)
    proc = cs.start_radicale(paths, port)
    # `kill`, a service manager or a closing terminal send SIGTERM: stop the server we
    # started as on Ctrl+C, instead of leaving Radicale running without us.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        url = cs.base_url(port)
        print(f"Сервер календарей запущен: {url} (доступен только с этого компьютера).")
        print(f"Хранилище: {paths.storage}")
        if created:
            print(f"Создан пользователь «{user}»; пароль записан в {pw_file}")
        elif pw_file:
            print(f"Пользователь «{user}»; пароль — в {pw_file}")
        else:
            print(f"Пользователь «{user}» уже есть в {paths.users}")
        pw_arg = str(pw_file) if pw_file else "ФАЙЛ_С_ПАРОЛЕМ"
        print("Опубликовать план:")
        print(f"  planner publish outputs/<экземпляр>/plan.json --caldav {url} --user {user} "
              f"--password-file {pw_arg}")
        calendars = [(t, u) for t, u in cs.stored_calendars(paths, port) if f"/{user}/" in u]
        if calendars:
            print("Адреса для подписки в программе-календаре (CalDAV, тот же пользователь и пароль):")
            for title, cal_url in calendars:
                print(f"  {title}: {cal_url}")
        else:
            print(f"Календарей пока нет. После публикации их адреса: {url}{user}/<календарь>/ "
                  "(команда publish их напечатает).")
        print("Сервер работает и ждёт подключений; остановить — Ctrl+C.", flush=True)
        code = proc.wait()
        if code != 0:
            print(f"Сервер календарей завершился с кодом {code}; подробности: {paths.log}", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        print("Сервер календарей остановлен.", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        cs.stop(proc)


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt
