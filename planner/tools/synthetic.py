"""Synthetic ШНОР schools and whole synthetic instances, deterministic for a seed.

The real list of the 96 Kuzbass schools of 2022 (with their risk profiles) is not
public, so the Kuzbass instance ships synthetic schools made here, and the benchmark
instances of 300 and 1000 schools are made here too. Standard library only: the
output depends on nothing but the inputs and the seed (same bytes on every run).

Usage::

    python -m planner.tools.synthetic kuzbass                       # rewrite Kuzbass schools.csv
    python -m planner.tools.synthetic make OUT --schools 300 --seed 1  # a complete instance

The shares below are those of the Kuzbass 2022 order (seed 004): 96 schools, of them
44 СОШ and 52 ООШ, 54 in the list for the second time; one mobile group of 16.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import tomllib
from datetime import date, timedelta
from pathlib import Path

from planner.inputs.tables import CONSULTANTS, SCHOOLS

DEFAULT_SEED = 2022
"""Seed of the committed Kuzbass schools.csv."""

KUZBASS_DIR = Path(__file__).resolve().parents[2] / "instances" / "kuzbass-2022"
"""The Kuzbass 2022 instance folder; the template for synthetic instances."""

KUZBASS_SCHOOLS = 96
SHARE_SOSH = 44 / 96
"""Share of secondary schools (СОШ); the rest are basic schools (ООШ)."""
SHARE_SECOND_TIME = 54 / 96
"""Schools in the ШНОР list for the second time: priority 1."""
SHARE_PRIORITY_3 = 5 / 96
"""A few schools with the lowest priority 3 (e.g. only one weak procedure)."""
SHARE_VERIFIED = 0.4
"""Schools whose risk profile the curator verified before the horizon."""
CONSULTANTS_PER_SCHOOL = 16 / 96
"""Size of the mobile group relative to the number of schools."""

SCHOOL_NOTE = "синтетическая школа"
SCHOOL_COLUMNS = [*SCHOOLS.column_names, "note"]  # the contract's columns, then a remark
CONSULTANT_COLUMNS = CONSULTANTS.column_names

RISK_WEIGHTS: dict[str, float] = {
    "R01": 4.0,   # low equipment
    "R02": 4.0,   # teacher shortage
    "R03": 10.0,  # subject and methodical competence
    "R04": 8.0,   # low adaptivity of the learning process
    "R05": 5.0,   # no in-school professional development system
    "R06": 0.5,   # language and cultural barriers: rare in Kuzbass
    "R07": 5.0,   # school environment
    "R08": 10.0,  # many students at risk of failure
    "R09": 5.0,   # low parent involvement
    "R10": 10.0,  # low learning motivation
}
"""Relative frequency of each risk factor in a synthetic risk profile."""

RURAL_OOSH_RISK_FACTOR: dict[str, float] = {"R01": 2.5, "R02": 2.5}
"""Rural basic schools lack equipment and teachers more often."""

POPULATION_THOUSANDS: dict[str, float] = {
    "Кемеровский городской округ": 557,
    "Новокузнецкий городской округ": 544,
    "Анжеро-Судженский городской округ": 70,
    "Беловский городской округ": 120,
    "Берёзовский городской округ": 47,
    "Калтанский городской округ": 28,
    "Киселёвский городской округ": 87,
    "Краснобродский городской округ": 13,
    "Ленинск-Кузнецкий городской округ": 95,
    "Междуреченский городской округ": 99,
    "Мысковский городской округ": 41,
    "Осинниковский городской округ": 43,
    "Полысаевский городской округ": 26,
    "Прокопьевский городской округ": 188,
    "Тайгинский городской округ": 24,
    "Юргинский городской округ": 80,
    "Беловский муниципальный округ": 27,
    "Гурьевский муниципальный округ": 36,
    "Ижморский муниципальный округ": 11,
    "Кемеровский муниципальный округ": 48,
    "Крапивинский муниципальный округ": 22,
    "Ленинск-Кузнецкий муниципальный округ": 22,
    "Мариинский муниципальный район": 53,
    "Новокузнецкий муниципальный район": 50,
    "Прокопьевский муниципальный округ": 32,
    "Промышленновский муниципальный округ": 43,
    "Таштагольский муниципальный район": 50,
    "Тисульский муниципальный округ": 20,
    "Топкинский муниципальный округ": 27,
    "Тяжинский муниципальный округ": 23,
    "Чебулинский муниципальный округ": 13,
    "Юргинский муниципальный округ": 20,
    "Яйский муниципальный округ": 17,
    "Яшкинский муниципальный округ": 27,
}
"""Approximate population (thousands, early 2020s, rounded) of the Kuzbass
municipalities; used only to weight where synthetic schools and consultants are."""
DEFAULT_POPULATION = 30.0
"""Population assumed for a municipality missing from POPULATION_THOUSANDS."""


# --- small helpers ------------------------------------------------------------------------


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def is_rural(municipality_name: str) -> bool:
    """True for a municipal district or municipal okrug (МР / МО, «… район»), False for a
    city okrug."""
    name = municipality_name.lower()
    return "муниципальн" in name or "район" in name


def population(municipality_name: str, row: dict[str, str] | None = None) -> float:
    """Approximate population in thousands: the row's `population_thousands` when it has
    one (`region_municipalities`), else POPULATION_THOUSANDS, else a default."""
    if row is not None and row.get("population_thousands"):
        return float(row["population_thousands"])
    return POPULATION_THOUSANDS.get(municipality_name, DEFAULT_POPULATION)


def school_weight(municipality_name: str, school_type: str, row: dict[str, str] | None = None) -> float:
    """Relative chance that a synthetic school of this type lies in the municipality.

    Larger towns weigh more (square root of population: ШНОР are not proportional to
    size); basic schools (ООШ) are mostly rural, so rural areas weigh more for them.
    """
    weight = math.sqrt(population(municipality_name, row))
    if school_type == "ООШ":
        weight *= 1.6 if is_rural(municipality_name) else 0.5
    return weight


def weighted_sample(
    rng: random.Random, items: list[str], weights: list[float], k: int
) -> list[str]:
    """Draw k distinct items, each draw proportional to the remaining weights."""
    pool = list(zip(items, weights))
    chosen: list[str] = []
    for _ in range(min(k, len(pool))):
        total = sum(w for _, w in pool)
        x = rng.random() * total
        for i, (item, w) in enumerate(pool):
            x -= w
            if x < 0 or i == len(pool) - 1:
                chosen.append(item)
                del pool[i]
                break
    return chosen


def working_days(month: str) -> list[date]:
    """Monday–Friday dates of a month `YYYY-MM`, without 23 February (a public holiday)."""
    year, mon = (int(part) for part in month.split("-"))
    day, days = date(year, mon, 1), []
    while day.month == mon:
        if day.weekday() < 5 and (day.month, day.day) != (2, 23):
            days.append(day)
        day += timedelta(days=1)
    return days


def previous_month(day: date) -> str:
    """The month `YYYY-MM` before the month of `day`."""
    first = day.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a UTF-8 CSV file (a BOM is accepted) as dicts."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, columns: list[str], rows: list[dict[str, object]]) -> None:
    """Write rows as UTF-8 CSV without BOM, `,`-separated, `\\n` line ends, minimal quoting."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=columns, lineterminator="\n", quoting=csv.QUOTE_MINIMAL
        )
        writer.writeheader()
        writer.writerows(rows)


# --- schools ------------------------------------------------------------------------------


def generate_schools(
    municipalities: list[dict[str, str]],
    consultants: list[dict[str, str]],
    n: int,
    seed: int = DEFAULT_SEED,
    *,
    n_sosh: int | None = None,
    n_priority_1: int | None = None,
    n_priority_3: int | None = None,
    verified_share: float = SHARE_VERIFIED,
    verified_month: str = "2022-02",
) -> list[dict[str, str]]:
    """Make `n` synthetic ШНОР schools, rows ready for schools.csv.

    municipalities: rows with id, name, lat, lon; consultants: rows with id and
    municipality (their home). Counts left as None follow the Kuzbass 2022 shares
    (for n = 96: 44 СОШ, 52 ООШ, 54 schools of priority 1, 5 of priority 3).
    Each school gets 2–3 risk factors, a curator (the nearest consultant with room,
    at most ceil(n / len(consultants)) + 1 schools each) and, for `verified_share`
    of the schools, a verification date on a working day of `verified_month`.
    The result depends only on the arguments.
    """
    if n <= 0 or not municipalities:
        return []
    rng = random.Random(seed)
    n_sosh = round(n * SHARE_SOSH) if n_sosh is None else n_sosh
    n_priority_1 = round(n * SHARE_SECOND_TIME) if n_priority_1 is None else n_priority_1
    n_priority_3 = round(n * SHARE_PRIORITY_3) if n_priority_3 is None else n_priority_3
    n_priority_3 = min(n_priority_3, n - n_priority_1)
    by_id = {m["id"]: m for m in municipalities}

    # Where: one weighted draw of a municipality per school, by school type.
    counts: dict[tuple[str, str], int] = {}
    for school_type, how_many in (("СОШ", n_sosh), ("ООШ", n - n_sosh)):
        weights = [school_weight(m["name"], school_type, m) for m in municipalities]
        for muni in rng.choices(municipalities, weights=weights, k=how_many):
            key = (muni["id"], school_type)
            counts[key] = counts.get(key, 0) + 1

    # Which: distinct school numbers within a municipality and type.
    order = {m["id"]: i for i, m in enumerate(municipalities)}
    drafts: list[tuple[int, int, int, str, str]] = []
    for (muni_id, school_type), count in sorted(
        counts.items(), key=lambda kv: (order[kv[0][0]], kv[0][1] != "СОШ")
    ):
        numbers = sorted(rng.sample(range(1, max(40, 3 * count) + 1), count))
        type_rank = 0 if school_type == "СОШ" else 1
        drafts += [(order[muni_id], type_rank, num, muni_id, school_type) for num in numbers]
    drafts.sort()
    width = max(3, len(str(n)))

    schools: list[dict[str, str]] = []
    codes = list(RISK_WEIGHTS)
    for index, (_, _, number, muni_id, school_type) in enumerate(drafts, 1):
        rural_oosh = school_type == "ООШ" and is_rural(by_id[muni_id]["name"])
        weights = [
            RISK_WEIGHTS[c] * (RURAL_OOSH_RISK_FACTOR.get(c, 1.0) if rural_oosh else 1.0)
            for c in codes
        ]
        risks = sorted(weighted_sample(rng, codes, weights, rng.choice((2, 3))))
        schools.append({
            "id": f"SCH{index:0{width}d}",
            "name": f"МБОУ «{school_type} № {number}» (синт.)",
            "municipality": muni_id,
            "risks": ";".join(risks),
            "priority": "2",
            "verified_on": "",
            "curator": "",
            "note": SCHOOL_NOTE,
        })

    # Priority: the "second-time" schools first, then a few of the lowest priority.
    first = rng.sample(range(n), n_priority_1)
    for i in first:
        schools[i]["priority"] = "1"
    rest = sorted(set(range(n)) - set(first))
    for i in rng.sample(rest, n_priority_3):
        schools[i]["priority"] = "3"

    # Verification already done in the month before the horizon for some schools.
    days = working_days(verified_month)
    for i in sorted(rng.sample(range(n), round(n * verified_share))):
        schools[i]["verified_on"] = rng.choice(days).isoformat()

    assign_curators(schools, municipalities, consultants, rng)
    return schools


def assign_curators(
    schools: list[dict[str, str]],
    municipalities: list[dict[str, str]],
    consultants: list[dict[str, str]],
    rng: random.Random,
) -> None:
    """Set each school's `curator`: the nearest consultant who still has room.

    Greedy over all (school, consultant) pairs by increasing distance from the
    consultant's home municipality to the school's; ties broken at random. A
    consultant curates at most ceil(len(schools) / len(consultants)) + 1 schools.
    """
    if not consultants:
        return
    cap = math.ceil(len(schools) / len(consultants)) + 1
    coords = {m["id"]: (float(m["lat"]), float(m["lon"])) for m in municipalities}
    pairs = []
    for s, school in enumerate(schools):
        lat1, lon1 = coords[school["municipality"]]
        for c, consultant in enumerate(consultants):
            lat2, lon2 = coords[consultant["municipality"]]
            km = round(haversine_km(lat1, lon1, lat2, lon2), 6)
            pairs.append((km, rng.random(), s, c))
    pairs.sort()
    load = [0] * len(consultants)
    for _, _, s, c in pairs:
        if not schools[s]["curator"] and load[c] < cap:
            schools[s]["curator"] = consultants[c]["id"]
            load[c] += 1


def write_kuzbass_schools(
    instance_dir: Path = KUZBASS_DIR, seed: int = DEFAULT_SEED, n: int = KUZBASS_SCHOOLS
) -> Path:
    """Regenerate `schools.csv` of the Kuzbass instance from its municipalities and
    consultants; the same bytes on every run for the same seed."""
    instance_dir = Path(instance_dir)
    schools = generate_schools(
        read_csv(instance_dir / "municipalities.csv"),
        read_csv(instance_dir / "consultants.csv"),
        n,
        seed,
    )
    path = instance_dir / "schools.csv"
    write_csv(path, SCHOOL_COLUMNS, schools)
    return path


# --- whole instances ----------------------------------------------------------------------


def scale_consultants(
    template: list[dict[str, str]],
    municipalities: list[dict[str, str]],
    n: int,
    seed: int,
    keep_homes: bool = True,
) -> list[dict[str, str]]:
    """Clone the template mobile group to `n` synthetic consultants C001, C002, ...

    Clone i copies template i mod len(template): its topics, limits and
    unavailability. The first round keeps the template's home municipality (unless
    `keep_homes` is false: a template from another region); later clones live in a
    municipality drawn by population (strong schools are mostly in towns), so homes vary.
    """
    rng = random.Random(f"consultants-{seed}")
    weights = [population(m["name"], m) for m in municipalities]
    width = max(3, len(str(n)))
    clones: list[dict[str, str]] = []
    for i in range(n):
        model = template[i % len(template)]
        home = model["municipality"] if keep_homes and i < len(template) else rng.choices(
            municipalities, weights=weights
        )[0]["id"]
        number = f"{i + 1:0{width}d}"
        clones.append({
            "id": f"C{number}",
            "name": f"Консультант {number} (синт.)",
            "position": f"член мобильной группы, по образцу {model['id']} (синт.)",
            "municipality": home,
            "topics": model["topics"],
            "max_per_month": model["max_per_month"],
            "max_total": model["max_total"],
            "unavailable": model["unavailable"],
        })
    return clones


MUNICIPALITIES_CSV = Path(__file__).resolve().parents[1] / "data" / "municipalities.csv"
"""The real municipality lists we ship (region, municipality, centre's lat/lon, …)."""

ROSTOV_POPULATION_THOUSANDS: dict[str, float] = {
    "город Ростов-на-Дону": 1140, "город Азов": 80, "город Батайск": 127, "город Волгодонск": 170,
    "город Гуково": 63, "город Донецк": 47, "город Зверево": 18, "город Каменск-Шахтинский": 87,
    "город Новочеркасск": 165, "город Новошахтинск": 105, "город Таганрог": 245, "город Шахты": 225,
    "Азовский район": 100, "Аксайский район": 115, "Багаевский район": 35, "Белокалитвинский район": 90,
    "Боковский район": 12, "Верхнедонской район": 19, "Весёловский район": 25, "Волгодонской район": 33,
    "Дубовский район": 20, "Егорлыкский район": 34, "Заветинский район": 16, "Зерноградский район": 55,
    "Зимовниковский район": 35, "Кагальницкий район": 28, "Каменский район": 43, "Кашарский район": 25,
    "Константиновский район": 32, "Красносулинский район": 75, "Куйбышевский район": 14, "Мартыновский район": 34,
    "Матвеево-Курганский район": 42, "Миллеровский район": 65, "Милютинский район": 12, "Морозовский район": 40,
    "Мясниковский район": 45, "Неклиновский район": 87, "Обливский район": 17, "Октябрьский район": 70,
    "Орловский район": 38, "Песчанокопский район": 31, "Пролетарский район": 36, "Ремонтненский район": 19,
    "Родионово-Несветайский район": 21, "Сальский район": 100, "Семикаракорский район": 48, "Советский район": 6,
    "Тарасовский район": 28, "Тацинский район": 35, "Усть-Донецкий район": 31, "Целинский район": 30,
    "Цимлянский район": 33, "Чертковский район": 33, "Шолоховский район": 26,
}
"""Approximate population (thousands, early 2020s, rounded) of the Rostov municipalities;
used only to weight where synthetic schools and consultants are."""

REGIONS: dict[str, tuple[str, str, str, dict[str, float]]] = {
    "rostov": ("Ростовская область", "Ростовская область (синт.)", "Europe/Moscow", ROSTOV_POPULATION_THOUSANDS),
}
"""Regions of the shipped municipality lists a synthetic instance may be set in: key ->
(region in MUNICIPALITIES_CSV, region name written, time zone, population by municipality)."""


def region_municipalities(region: str) -> list[dict[str, str]]:
    """The region's shipped municipalities as rows id (M01… in file order), name, lat, lon and
    population_thousands (for weighting only)."""
    source, _name, _tz, populations = REGIONS[region]
    rows = [r for r in read_csv(MUNICIPALITIES_CSV) if r["region"] == source]
    return [{"id": f"M{i:02d}", "name": r["municipality"], "lat": r["lat"], "lon": r["lon"],
             "population_thousands": str(populations.get(r["municipality"], DEFAULT_POPULATION))}
            for i, r in enumerate(rows, 1)]


CLASSIC_SETTINGS: dict[str, dict[str, object]] = {
    "rules": {"hold_every_topic": False, "max_gap_months": 0},
    "weights": {"relevant_attendance": 0},
}
"""The programme's settings off: the classic month-level problem (coverage, then travel)."""


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def set_toml_keys(text: str, settings: dict[str, dict[str, object]]) -> str:
    """instance.toml text with these keys set (`{section: {key: value}}`): an existing
    `key = …` line of the section is replaced, a missing key goes right under the section's
    header, a missing section is appended. Comments and every other line are kept."""
    lines = text.splitlines()
    for section, keys in settings.items():
        header = f"[{section}]"
        if header not in (line.strip() for line in lines):
            lines += ["", header]
        start = next(i for i, line in enumerate(lines) if line.strip() == header)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
        for key, value in keys.items():
            new = f"{key} = {toml_value(value)}"
            at = next((i for i in range(start + 1, end) if lines[i].split("=")[0].strip() == key), None)
            if at is None:
                lines.insert(start + 1, new)
                end += 1
            else:
                lines[at] = new
    return "\n".join(lines) + "\n"


def without_toml_section(text: str, section: str) -> str:
    """instance.toml text without one section (its header, keys and the comments above it)."""
    lines, out, skip = text.splitlines(), [], False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            skip = stripped == f"[{section}]"
            if skip:
                while out and (out[-1].lstrip().startswith("#") or not out[-1].strip()):
                    out.pop()  # the section's comment block
                continue
        if not skip:
            out.append(line)
    return "\n".join(out) + "\n"


def make_instance(
    out_dir: Path,
    n_schools: int,
    seed: int = DEFAULT_SEED,
    template_dir: Path = KUZBASS_DIR,
    *,
    n_consultants: int | None = None,
    region: str | None = None,
    classic: bool = False,
    curators: bool = True,
) -> Path:
    """Write a complete synthetic instance folder of `n_schools` schools, like Kuzbass.

    instance.toml and topics.csv are copied from the template, and municipalities.csv
    too unless `region` names one of REGIONS (then its shipped municipalities, region name
    and time zone are used); the mobile group is the template's scaled to `n_consultants`
    (default about 16 consultants per 96 schools); the schools are generated, each with
    a curator unless `curators` is false (then one of the nearest visitors is chosen by the
    planner). `classic` turns the programme's settings off (CLASSIC_SETTINGS).
    Deterministic for a seed. Returns the folder.
    """
    out_dir, template_dir = Path(out_dir), Path(template_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "topics.csv").write_bytes((template_dir / "topics.csv").read_bytes())
    toml_text = (template_dir / "instance.toml").read_text(encoding="utf-8")
    settings = tomllib.loads(toml_text)
    start = settings["horizon"]["start"]
    changes: dict[str, dict[str, object]] = {}
    if region is not None:
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r} (known: {', '.join(REGIONS)})")
        _source, name, tz, _populations = REGIONS[region]
        municipalities = region_municipalities(region)
        write_csv(out_dir / "municipalities.csv", ["id", "name", "lat", "lon"],
                  [{k: m[k] for k in ("id", "name", "lat", "lon")} for m in municipalities])
        changes["region"] = {"name": name, "timezone": tz}
        toml_text = without_toml_section(toml_text, "documents")  # the template region's own order
    else:
        municipalities = read_csv(template_dir / "municipalities.csv")
        (out_dir / "municipalities.csv").write_bytes((template_dir / "municipalities.csv").read_bytes())
    if classic:
        for section, keys in CLASSIC_SETTINGS.items():
            changes.setdefault(section, {}).update(keys)
    (out_dir / "instance.toml").write_text(set_toml_keys(toml_text, changes) if changes else toml_text,
                                           encoding="utf-8")
    if n_consultants is None:
        n_consultants = max(1, round(n_schools * CONSULTANTS_PER_SCHOOL))
    consultants = scale_consultants(
        read_csv(template_dir / "consultants.csv"), municipalities, n_consultants, seed,
        keep_homes=region is None,
    )
    write_csv(out_dir / "consultants.csv", CONSULTANT_COLUMNS, consultants)
    schools = generate_schools(
        municipalities, consultants, n_schools, seed, verified_month=previous_month(start)
    )
    if not curators:
        for school in schools:
            school["curator"] = ""
    write_csv(out_dir / "schools.csv", SCHOOL_COLUMNS, schools)
    return out_dir


def main(argv: list[str] | None = None) -> None:
    """Command line: `kuzbass` or `make OUT --schools N --seed K`."""
    parser = argparse.ArgumentParser(
        prog="python -m planner.tools.synthetic", description="Синтетические школы и экземпляры."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    kuz = sub.add_parser("kuzbass", help="перезаписать schools.csv экземпляра kuzbass-2022")
    kuz.add_argument("--dir", type=Path, default=KUZBASS_DIR, help="папка экземпляра")
    kuz.add_argument("--seed", type=int, default=DEFAULT_SEED)
    make = sub.add_parser("make", help="создать синтетический экземпляр")
    make.add_argument("out", type=Path, help="папка, куда записать экземпляр")
    make.add_argument("--schools", type=int, required=True, help="число школ")
    make.add_argument("--seed", type=int, default=DEFAULT_SEED)
    make.add_argument("--consultants", type=int, default=None,
                      help="число консультантов (по умолчанию около 16 на 96 школ)")
    make.add_argument("--region", choices=sorted(REGIONS), default=None,
                      help="муниципалитеты другого региона (по умолчанию — Кузбасса)")
    make.add_argument("--classic", action="store_true",
                      help="классическая задача: настройки программы выключены (hold_every_topic = false,"
                           " max_gap_months = 0, relevant_attendance = 0)")
    make.add_argument("--no-curators", action="store_true",
                      help="кураторы не назначены: визит верификации делает один из ближайших консультантов")
    args = parser.parse_args(argv)
    if args.command == "kuzbass":
        print(write_kuzbass_schools(args.dir, args.seed))
    else:
        if args.schools <= 0:
            parser.error("число школ должно быть положительным")
        if args.consultants is not None and args.consultants <= 0:
            parser.error("число консультантов должно быть положительным")
        print(make_instance(args.out, args.schools, args.seed, n_consultants=args.consultants,
                            region=args.region, classic=args.classic, curators=not args.no_curators))


if __name__ == "__main__":
    main()
