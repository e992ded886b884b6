"""`planner synthetic national`: 84 regions, about 3,000 schools, real and made-up municipalities."""

from __future__ import annotations

import csv
from pathlib import Path

from planner.cli.main import main
from planner.inputs.validation import load_instance


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_national_set_has_84_regions_of_realistic_sizes_and_each_is_a_valid_instance(tmp_path, capsys):
    assert main(["synthetic", "national", str(tmp_path / "a"), "--seed", "3"]) == 0
    assert "Записано регионов: 84" in capsys.readouterr().out
    index = rows(tmp_path / "a" / "regions.csv")
    assert len(index) == 84 and len({r["name"] for r in index}) == 84
    sizes = {r["name"]: int(r["schools"]) for r in index}
    assert sum(sizes.values()) == 3000 and max(sizes.values()) == 300 and min(sizes.values()) >= 10
    assert sizes["Кемеровская область — Кузбасс"] == 96 and sizes["Республика Калмыкия"] == 14
    assert sum(1 for n in sizes.values() if n < 100) > 70  # most regions have tens of schools

    by_name = {r["name"]: tmp_path / "a" / r["code"] for r in index}
    for name in ("Ростовская область", "Кемеровская область — Кузбасс", "Республика Калмыкия"):
        munis = rows(by_name[name] / "municipalities.csv")
        assert {m["note"] for m in munis} == {"реальный муниципалитет"}
        assert not any("синт." in m["name"] for m in munis)
    assert len(rows(by_name["Ростовская область"] / "municipalities.csv")) == 55
    biggest = max(sizes, key=sizes.get)
    for name in {biggest, "Ростовская область", "Республика Калмыкия", min(sizes, key=sizes.get), "Москва"}:
        instance, _ = load_instance(by_name[name])  # raises on any problem of the input
        assert len(instance.schools) == sizes[name]
        assert instance.settings.region.name.startswith(name)
        # every topic of the catalogue is delivered by someone of the group
        delivered = {t for c in instance.consultants.values() for t in c.topics}
        assert set(instance.topics) <= delivered
        if name not in ("Ростовская область", "Республика Калмыкия"):
            munis = rows(by_name[name] / "municipalities.csv")
            assert {m["note"] for m in munis} == {"синтетический муниципалитет"}
            assert all(m["name"].endswith("(синт.)") for m in munis)
    assert load_instance(by_name["Республика Саха (Якутия)"])[0].settings.region.timezone == "Asia/Yakutsk"
    chukotka = load_instance(by_name["Чукотский автономный округ"])[0]  # across the 180th meridian
    assert all(-180 <= m.lon <= 180 for m in chukotka.municipalities.values())

    # The same seed writes the same bytes; another seed other sizes.
    main(["synthetic", "national", str(tmp_path / "b"), "--seed", "3"])
    for r in index:
        for f in ("schools.csv", "consultants.csv", "municipalities.csv", "topics.csv", "instance.toml"):
            assert (tmp_path / "a" / r["code"] / f).read_bytes() == (tmp_path / "b" / r["code"] / f).read_bytes()
    main(["synthetic", "national", str(tmp_path / "c"), "--seed", "4"])
    assert [r["schools"] for r in rows(tmp_path / "c" / "regions.csv")] != [r["schools"] for r in index]
