"""An uploaded instance: checked, stored under the server's own names, validated.

Safety rules kept here:
- the person's file name is shown, never used as a path: a workbook is stored as
  `DIR/instances/<id>/source.xlsx`, a zip's files as `DIR/instances/<id>/source/<name>`
  where <name> is one of the instance's own file names (`schools.csv`, …) that the entry's
  last path part equals;
- a zip entry that would leave the folder (`../`, an absolute path, a drive letter, a
  backslash path) or that is a link refuses the whole archive, and so does an encrypted
  entry or an archive that unpacks to more than `MAX_UNPACKED` bytes;
- a workbook's cells are read as the values the file stores (pandas/openpyxl never compute
  a formula); a cell that holds a formula is refused with its sheet, row and column, because
  the value the person sees in Excel may not be the value stored in the file.
"""

from __future__ import annotations

import io
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from planner.web import app_services as svc
from planner.web.db import new_id

MAX_UNPACKED = 200 * 1024 * 1024  # an archive (or a workbook) unpacking to more is refused
MAX_ENTRIES = 2000
WORKBOOK = "source.xlsx"
FOLDER = "source"
_NAME_KEEP = re.compile(r"[^\w.-]+")


@dataclass
class Rejected(Exception):
    """The upload cannot be used: every problem at once (and the warnings found so far)."""

    errors: list[svc.Problem]
    warnings: list[svc.Problem] = field(default_factory=list)


@dataclass
class Stored:
    id: str
    name: str
    kind: str
    instance: svc.Instance
    warnings: list[svc.Problem]


def instance_source(data: Path, instance_id: str, kind: str) -> Path:
    """Where an instance's upload lives (a workbook or a folder of CSV files)."""
    base = data / "instances" / instance_id
    return base / (WORKBOOK if kind == "xlsx" else FOLDER)


def display_name(original: str | None) -> str:
    """The upload's name as people see it: its last path part, without control characters."""
    name = (original or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:120] or "файл"


def instance_name(stem: str) -> str:
    """The instance's name in plans and documents, from the upload's name («kuzbass-2022»)."""
    name = _NAME_KEEP.sub("-", stem).strip(".-_")[:60]
    return name or "instance"


def store_upload(data: Path, content: bytes, original: str | None) -> Stored:
    """Check, store and validate an upload; raises Rejected. On success the files are in
    DIR/instances/<id>/ (the database row is the caller's)."""
    shown = display_name(original)
    suffix = PurePosixPath(shown.lower()).suffix
    if suffix not in (".xlsx", ".zip"):
        raise Rejected([svc.Problem(shown, "нужна книга Excel .xlsx или архив .zip с папкой CSV-файлов экземпляра",
                                    value=suffix or shown)])
    if not content.startswith(b"PK\x03\x04"):
        what = "книгой Excel .xlsx" if suffix == ".xlsx" else "архивом .zip"
        raise Rejected([svc.Problem(shown, f"файл не является {what} (повреждён или другого формата)")])
    instance_id = new_id()
    root = data / "instances"
    staging = root / f".{instance_id}.partial"
    staging.mkdir(parents=True)
    try:
        if suffix == ".xlsx":
            kind, name = "xlsx", instance_name(PurePosixPath(shown).stem)
            _check_archive(content, shown, workbook=True)
            source = staging / WORKBOOK
            source.write_bytes(content)
            formulas = workbook_formulas(source, shown)
            if formulas:
                raise Rejected(formulas)
        else:
            kind = "zip"
            folder_name = _unpack_instance_zip(content, shown, staging / FOLDER)
            name = instance_name(folder_name or PurePosixPath(shown).stem)
            source = staging / FOLDER
        try:
            instance, warnings = svc.load_instance_as(source, name, shown)
        except svc.InputError as exc:
            raise Rejected(exc.errors, [p for p in exc.problems if p.severity != "error"]) from None
        final = root / instance_id
        staging.rename(final)
        return Stored(instance_id, name, kind, instance, warnings)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _check_archive(content: bytes, shown: str, *, workbook: bool = False) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        what = "книга Excel не открывается" if workbook else "архив не открывается"
        raise Rejected([svc.Problem(shown, f"{what}: {exc}")]) from None
    if len(infos) > MAX_ENTRIES:
        raise Rejected([svc.Problem(shown, f"в архиве слишком много файлов ({len(infos)}; не больше {MAX_ENTRIES})")])
    if sum(i.file_size for i in infos) > MAX_UNPACKED:
        raise Rejected([svc.Problem(shown, f"файл распаковывается больше чем в {MAX_UNPACKED // 2**20} МБ:"
                                           " это не похоже на данные экземпляра")])
    return zf


def _unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "запись архива — символическая ссылка; ссылки не принимаются, архив отклонён"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "запись архива с абсолютным путём; архив отклонён"
    if "\\" in name:
        return "запись архива с путём через «\\»; упакуйте папку заново, архив отклонён"
    if any(part == ".." for part in name.split("/")):
        return "запись архива выходит за пределы папки («..»); архив отклонён"
    if info.flag_bits & 0x1:
        return "запись архива зашифрована; нужен архив без пароля"
    return None


def _unpack_instance_zip(content: bytes, shown: str, dest: Path) -> str | None:
    """Unpack the instance's files from a zip into `dest`, each under its own known name.
    Returns the name of the folder the files were in (None: the archive's root)."""
    zf = _check_archive(content, shown)
    problems = [svc.Problem(shown, reason, value=info.filename)
                for info in zf.infolist() if (reason := _unsafe_reason(info))]
    if problems:
        raise Rejected(problems)
    known = set(svc.instance_file_names())
    found: dict[str, list[zipfile.ZipInfo]] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        path = PurePosixPath(info.filename)
        if path.parts[0] == "__MACOSX" or path.name.startswith("._"):
            continue
        if path.name in known:
            found.setdefault(str(path.parent), []).append(info)
    if not found:
        raise Rejected([svc.Problem(shown, "в архиве нет файлов экземпляра: нужны instance.toml, schools.csv,"
                                           " consultants.csv, topics.csv, municipalities.csv")])
    if len(found) > 1:
        folders = ", ".join(sorted(f if f != "." else "(корень архива)" for f in found))
        raise Rejected([svc.Problem(shown, "в архиве несколько папок с файлами экземпляра; оставьте одну",
                                    value=folders)])
    folder, infos = next(iter(found.items()))
    dest.mkdir(parents=True)
    by_name = {name: name for name in known}
    for info in infos:
        target = dest / by_name[PurePosixPath(info.filename).name]  # our own name, not the entry's
        with zf.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, length=1 << 16)
    return None if folder == "." else PurePosixPath(folder).name


def workbook_formulas(path: Path, shown: str) -> list[svc.Problem]:
    """Every cell of the sheets the planner reads that holds a formula (none is ever computed)."""
    from openpyxl import load_workbook

    sheets = set(svc.instance_sheet_names())
    problems: list[svc.Problem] = []
    try:
        wb = load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception:  # noqa: BLE001 (the loader reports a workbook that does not open, in its own words)
        return []
    try:
        for ws in wb.worksheets:
            if ws.title not in sheets:
                continue
            header: dict[int, str] = {}
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value is None or not hasattr(cell, "column"):
                        continue
                    if cell.row == 1:
                        header[cell.column] = str(cell.value).strip()
                    if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")
                                                 and cell.data_type != "s"):
                        problems.append(svc.Problem(
                            f"{shown}, лист «{ws.title}»",
                            "в ячейке формула; планировщик формулы не вычисляет — впишите значение"
                            " (Копировать → Специальная вставка → Значения)",
                            row=cell.row, column=header.get(cell.column) or cell.column_letter,
                            value=str(cell.value)))
    finally:
        wb.close()
    return problems
