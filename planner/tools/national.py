"""A national test set: 84 synthetic region instances, deterministic for a seed.

    planner synthetic national OUT --seed 1

`write_national(OUT, seed)` writes OUT/<code>/ for each of the 84 regions in
`planner/data/regions.csv` (the subjects of the Federation without the Nenets autonomous
okrug), about 3,000 ШНОР in all, each region between `MIN_SCHOOLS` and `MAX_SCHOOLS`
schools. Every region is a complete instance like the Kuzbass one:

- **municipalities**: the real lists we ship in `planner/data/municipalities.csv`
  (Kuzbass, Rostov oblast, Kalmykia, with the coordinates of their administrative centres);
  for every other region, made-up municipalities scattered around its real capital,
  each named with «(синт.)» and marked `синтетический муниципалитет` in the `note` column;
- **mobile group**: the Kuzbass group cloned (`synthetic.scale_consultants`), about 16
  consultants per 96 schools and at least `MIN_CONSULTANTS`, living mostly in the capital;
- **topics**: the Kuzbass catalogue, restricted to the topics that group delivers (a small
  region's group of six delivers about a third of it, as Kalmykia's does);
- **schools**: `synthetic.generate_schools`, the Kuzbass shares of types, priorities, risks;
- **settings**: the Kuzbass horizon and rules, the region's name and time zone.

The region sizes: Kuzbass keeps its 96 schools and Kalmykia its 14; the biggest region
has `MAX_SCHOOLS`; the others are drawn from a log-normal law and scaled so that the
whole set has `TOTAL_SCHOOLS`.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from planner.tools import synthetic

TOTAL_SCHOOLS = 3000
MIN_SCHOOLS = 10
MAX_SCHOOLS = 300
FIXED_SIZES = {"Кемеровская область — Кузбасс": 96, "Республика Калмыкия": 14}
"""Regions whose size is that of the instance we ship for them."""
MIN_CONSULTANTS = 6
"""The smallest mobile group (Kalmykia's has six)."""
SYNTHETIC_NOTE = "синтетический муниципалитет"
REAL_NOTE = "реальный муниципалитет"

STEMS = (
    "Берёзовский", "Сосновский", "Луговской", "Заречный", "Каменский", "Озёрный", "Светловский", "Полевской",
    "Лесной", "Майский", "Октябрьский", "Первомайский", "Советский", "Степной", "Ключевский", "Красноборский",
    "Новосёловский", "Ивановский", "Покровский", "Никольский", "Троицкий", "Успенский", "Знаменский",
    "Михайловский", "Александровский", "Петровский", "Кировский", "Садовый", "Родниковский", "Высоковский",
    "Тополинский", "Ольховский", "Рябиновский", "Калиновский", "Соловьёвский", "Журавлёвский", "Орловский",
    "Соколовский", "Лебяжий", "Черёмуховский", "Вишнёвский", "Яблоновский", "Дубовский", "Кедровский",
    "Еловский", "Пихтовский", "Ручьёвский", "Холмогорский", "Долинский", "Ясеневский",
)
"""Names of made-up municipalities («Берёзовский муниципальный район (синт.)»)."""


@dataclass(frozen=True)
class Region:
    code: str  # folder name: r01 … r84
    name: str
    centre: str
    lat: float
    lon: float
    tz: str
    spread_km: float
    schools: int
    index: int  # 1 … 84: the region's line in regions.csv (and part of its seeds)


def _data_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("planner").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def region_sizes(names: list[str], seed: int, total: int = TOTAL_SCHOOLS) -> dict[str, int]:
    """Schools per region: the fixed ones, one region of MAX_SCHOOLS, each other one
    MIN_SCHOOLS plus a log-normal share of what is left of `total`."""
    rng = random.Random(f"sizes-{seed}")
    free = [n for n in names if n not in FIXED_SIZES]
    biggest = rng.choice(free)
    rest = [n for n in free if n != biggest]
    raw = {n: rng.lognormvariate(0.0, 0.8) for n in rest}
    # MIN_SCHOOLS each, and the rest of the budget shared in proportion to the draws.
    budget = total - sum(FIXED_SIZES.get(n, 0) for n in names) - MAX_SCHOOLS
    spare = budget - MIN_SCHOOLS * len(rest)
    scale = spare / sum(raw.values())
    sizes = {n: min(MAX_SCHOOLS - 1, MIN_SCHOOLS + round(v * scale)) for n, v in raw.items()}
    # Whatever rounding leaves goes one school at a time to the largest draws.
    diff = budget - sum(sizes.values())
    order = sorted(rest, key=lambda n: -raw[n])
    i = 0
    while diff and i < 10 * len(order):
        n = order[i % len(order)]
        step = 1 if diff > 0 else -1
        if MIN_SCHOOLS <= sizes[n] + step <= MAX_SCHOOLS - 1:
            sizes[n] += step
            diff -= step
        i += 1
    sizes[biggest] = MAX_SCHOOLS
    sizes.update({n: k for n, k in FIXED_SIZES.items() if n in names})
    return {n: sizes[n] for n in names}


def national_regions(seed: int) -> list[Region]:
    rows = _data_rows("regions.csv")
    sizes = region_sizes([r["name"] for r in rows], seed)
    return [Region(f"r{i:02d}", r["name"], r["centre"], float(r["lat"]), float(r["lon"]), r["tz"],
                   float(r["spread_km"]), sizes[r["name"]], i) for i, r in enumerate(rows, 1)]


def real_municipalities(region: str) -> list[dict[str, str]]:
    """The shipped list of a region's municipalities (empty when we have none), ids M01…"""
    rows = [r for r in _data_rows("municipalities.csv") if r["region"] == region]
    return [{"id": f"M{i:02d}", "name": r["municipality"], "lat": r["lat"], "lon": r["lon"], "note": REAL_NOTE}
            for i, r in enumerate(rows, 1)]


def made_up_municipalities(region: Region, rng: random.Random) -> list[dict[str, str]]:
    """The capital's city okrug and 8–45 made-up okrugs and districts around it, all «(синт.)»."""
    city = region.name in ("Москва", "Санкт-Петербург", "Севастополь")
    count = max(8, min(45, round(8 + region.schools / 6)))
    capital = region.centre.removeprefix("г. ")
    out = [{"id": "M01", "name": f"Городской округ город {capital} (синт.)" if not city else
            "Центральный внутригородской район (синт.)", "lat": f"{region.lat:.4f}", "lon": f"{region.lon:.4f}",
            "note": SYNTHETIC_NOTE}]
    stems = rng.sample(STEMS, count - 1)
    for i, stem in enumerate(stems, 2):
        if city:
            name = f"{stem} внутригородской район (синт.)"
        elif rng.random() < 0.2:
            name = f"{stem} городской округ (синт.)"
        else:
            name = f"{stem} муниципальный {rng.choice(('район', 'округ'))} (синт.)"
        # A point at a random bearing, at most spread_km from the capital, nearer more often.
        km = region.spread_km * math.sqrt(rng.random())
        bearing = rng.uniform(0, 2 * math.pi)
        lat = region.lat + km * math.cos(bearing) / 111.2
        lon = region.lon + km * math.sin(bearing) / (111.2 * math.cos(math.radians(region.lat)))
        lon = (lon + 180) % 360 - 180  # Chukotka reaches past the 180th meridian
        out.append({"id": f"M{i:02d}", "name": name, "lat": f"{lat:.4f}", "lon": f"{lon:.4f}",
                    "note": SYNTHETIC_NOTE})
    return out


def _instance_toml(template: str, region: Region) -> str:
    """The template's settings with the region's name and time zone; no roadmap section."""
    text = re.sub(r'(?m)^name = ".*"', f'name = "{region.name} (синт.)"', template, count=1)
    text = re.sub(r'(?m)^timezone = "[^"]*"', f'timezone = "{region.tz}"', text, count=1)
    text = re.split(r"(?m)^\[roadmap", text)[0].rstrip() + "\n"
    header = (f"# {region.name}: a synthetic region of the national test set (planner synthetic national),"
              f" {region.schools} schools.\n")
    return header + text


def _topics_delivered(topics: list[dict[str, str]], consultants: list[dict[str, str]]) -> list[dict[str, str]]:
    """The topics some consultant delivers; prerequisites outside that set are dropped."""
    delivered = {t for c in consultants for t in c["topics"].split(";") if t}
    kept = [dict(t) for t in topics if t["id"] in delivered]
    for t in kept:
        t["requires"] = ";".join(r for r in t["requires"].split(";") if r and r in delivered)
    return kept


def write_region(out_dir: Path, region: Region, seed: int,
                 template_dir: Path = synthetic.KUZBASS_DIR) -> Path:
    """One region's instance folder (see the module docstring)."""
    import tomllib

    rng = random.Random(f"{seed}-{region.code}")
    folder = Path(out_dir) / region.code
    folder.mkdir(parents=True, exist_ok=True)
    municipalities = real_municipalities(region.name) or made_up_municipalities(region, rng)
    template_toml = (template_dir / "instance.toml").read_text(encoding="utf-8")
    (folder / "instance.toml").write_text(_instance_toml(template_toml, region), encoding="utf-8")
    synthetic.write_csv(folder / "municipalities.csv", ["id", "name", "lat", "lon", "note"], municipalities)
    n_consultants = max(MIN_CONSULTANTS, round(region.schools * synthetic.CONSULTANTS_PER_SCHOOL))
    # The group's first members work in the capital (the regional institute), the rest
    # where the population is (scale_consultants draws their homes).
    template = [dict(c, municipality="M01") for c in synthetic.read_csv(template_dir / "consultants.csv")]
    consultants = synthetic.scale_consultants(template, municipalities, n_consultants, seed + region.index)
    synthetic.write_csv(folder / "consultants.csv", synthetic.CONSULTANT_COLUMNS, consultants)
    topics = synthetic.read_csv(template_dir / "topics.csv")
    synthetic.write_csv(folder / "topics.csv", list(topics[0]), _topics_delivered(topics, consultants))
    start = tomllib.loads(template_toml)["horizon"]["start"]
    schools = synthetic.generate_schools(municipalities, consultants, region.schools,
                                         seed * 1000 + region.index,
                                         verified_month=synthetic.previous_month(start))
    synthetic.write_csv(folder / "schools.csv", synthetic.SCHOOL_COLUMNS, schools)
    return folder


def write_national(out_dir: Path, seed: int = synthetic.DEFAULT_SEED) -> list[Region]:
    """Every region's folder under `out_dir` and `regions.csv`, the index of the set."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    regions = national_regions(seed)
    for region in regions:
        write_region(out_dir, region, seed)
    synthetic.write_csv(out_dir / "regions.csv", ["code", "name", "schools", "municipalities"], [
        {"code": r.code, "name": r.name, "schools": r.schools,
         "municipalities": "реальные" if real_municipalities(r.name) else "синтетические"} for r in regions])
    return regions


# --- the command ------------------------------------------------------------------------------


def _cmd_national(args: argparse.Namespace) -> int:
    regions = write_national(args.out, args.seed)
    print(f"Записано регионов: {len(regions)}, школ: {sum(r.schools for r in regions)}"
          f" (от {min(r.schools for r in regions)} до {max(r.schools for r in regions)}) в {args.out};"
          f" перечень: {Path(args.out) / 'regions.csv'}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("national", help="записать национальный тестовый набор: 84 синтетических региона")
    p.add_argument("out", type=Path, help="папка, куда записать регионы")
    p.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED,
                   help=f"зерно (по умолчанию {synthetic.DEFAULT_SEED})")
    p.set_defaults(func=_cmd_national)


def register(sub: argparse._SubParsersAction) -> None:
    """`planner synthetic national OUT --seed K`; the `planner` command finds this through the
    entry point group `planner.commands` (pyproject.toml)."""
    p = sub.add_parser("synthetic", help="синтетические экземпляры для проверки и замеров")
    add_parser(p.add_subparsers(dest="synthetic_command", required=True, metavar="ЧТО"))


def main(argv: list[str] | None = None) -> int:
    """`python -m planner.tools.national national OUT --seed K`, the same as the command."""
    parser = argparse.ArgumentParser(prog="python -m planner.tools.national")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
