"""`planner serve` and `planner users add` (shared/formats.md, «Web application»)."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
import tempfile
from pathlib import Path

from models.problems import InputError, Problem

DEFAULT_DATA = Path("outputs") / "server"
DEFAULT_PORT = 8000


def _data(args: argparse.Namespace) -> Path:
    return Path(args.data).resolve()


def _cmd_users_add(args: argparse.Namespace) -> int:
    from planner.web.auth import UserError, add_user
    from planner.web.db import connect

    data = _data(args)
    conn = connect(data)
    try:
        user, path = add_user(conn, data, args.name, args.role)
    except UserError as exc:
        raise InputError([Problem("командная строка", str(exc), column="NAME", value=args.name)]) from None
    finally:
        conn.close()
    role = "редактор" if user.role == "editor" else "наблюдатель"
    print(f"Пользователь «{user.name}» ({role}) добавлен. Пароль записан в {path} (читать может только владелец).")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    problems = []
    if not 0 < args.port < 65536:
        problems.append(Problem("командная строка", "нужен порт от 1 до 65535", column="--port", value=str(args.port)))
    if args.jobs < 1:
        problems.append(Problem("командная строка", "нужен хотя бы один расчёт одновременно", column="--jobs",
                                value=str(args.jobs)))
    if args.max_upload_mb <= 0:
        problems.append(Problem("командная строка", "нужно положительное число мегабайт", column="--max-upload-mb",
                                value=str(args.max_upload_mb)))
    if not 1 <= args.time_limit <= 3600:
        problems.append(Problem("командная строка", "нужно от 1 до 3600 секунд", column="--time-limit",
                                value=str(args.time_limit)))
    if problems:
        raise InputError(problems)
    _check_port(args.host, args.port)

    import uvicorn

    from planner.web.app import MB, ServerConfig, create_app
    from planner.web.db import connect

    data = _data(args)
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    (data / "tmp").mkdir(exist_ok=True)
    tempfile.tempdir = str(data / "tmp")  # uploads spooled to disk stay inside DIR too
    workers = args.solver_workers or max(1, min(8, (os.cpu_count() or 2) // args.jobs))
    config = ServerConfig(data=data, max_upload=int(args.max_upload_mb * MB), max_jobs=args.jobs,
                          solver_workers=workers, default_time_limit=args.time_limit)
    app = create_app(config)
    conn = connect(data)
    users = conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]
    conn.close()
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Планировщик открыт: http://{shown_host}:{args.port}/  (данные: {data}; остановить: Ctrl+C)", flush=True)
    if not users:
        print(f"Пользователей ещё нет. Создайте первого: planner users add ИМЯ --data {args.data}", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"Внимание: сервер слушает {args.host} — он виден в сети. Для работы команды ставьте его за"
              " обратный прокси с HTTPS (см. README).", flush=True)
    server = uvicorn.Server(uvicorn.Config(
        app, host=args.host, port=args.port, log_level="warning", proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"), timeout_graceful_shutdown=3,
        server_header=False))
    server.run()
    print("Сервер остановлен.", file=sys.stderr, flush=True)
    return 0


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        why = ("порт уже занят другой программой" if exc.errno == errno.EADDRINUSE
               else f"адрес недоступен ({exc.strerror})")
        raise InputError([Problem("командная строка", f"{why}; укажите другой: --port", column="--host/--port",
                                  value=f"{host}:{port}")]) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="веб-приложение: загрузка экземпляров, расчёт, просмотр и выгрузка плана")
    p.add_argument("--host", default="127.0.0.1", help="адрес (по умолчанию 127.0.0.1: только этот компьютер)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"порт (по умолчанию {DEFAULT_PORT})")
    p.add_argument("--data", default=str(DEFAULT_DATA), help=f"папка данных сервера (по умолчанию {DEFAULT_DATA})")
    p.add_argument("--jobs", type=int, default=1, help="сколько расчётов идёт одновременно (по умолчанию 1)")
    p.add_argument("--solver-workers", type=int, default=0,
                   help="потоков решателя на расчёт (по умолчанию: ядра / --jobs, не больше 8)")
    p.add_argument("--max-upload-mb", type=float, default=20.0,
                   help="наибольший загружаемый файл, МБ (по умолчанию 20)")
    p.add_argument("--time-limit", type=float, default=20.0,
                   help="время расчёта по умолчанию, с (по умолчанию 20; на странице его можно изменить)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("users", help="пользователи веб-приложения")
    actions = p.add_subparsers(dest="users_command", required=True, metavar="ДЕЙСТВИЕ")
    a = actions.add_parser("add", help="добавить пользователя; пароль записывается в DIR/password-ИМЯ.txt")
    a.add_argument("name", metavar="NAME", help="имя для входа (буквы, цифры, «_», «.», «-»)")
    a.add_argument("--role", choices=("editor", "viewer"), default="editor",
                   help="editor — загружает и считает (по умолчанию); viewer — только смотрит")
    a.add_argument("--data", default=str(DEFAULT_DATA), help=f"папка данных сервера (по умолчанию {DEFAULT_DATA})")
    a.set_defaults(func=_cmd_users_add)
