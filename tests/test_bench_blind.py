"""The blind side-by-side check: sheets that show each result unchanged where the key says, in an order the
seed draws, naming no method; and the tally of the filled verdicts, which refuses an unjudged sheet."""

import json

import numpy as np
import pytest
from PIL import Image

from bench import blind

PHOTOS, PAINTINGS = ("house", "street"), ("waves", "swirls", "dots")
SIZE = (48, 32)  # width, height of every result


def noise(seed: int, size=SIZE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


@pytest.fixture
def folders(tmp_path):
    """Shared images (two photos, three paintings) and two methods' results of every pair, noise of their own
    (so that a pixel-exact match tells which image a sheet shows), in folders named after the methods."""
    images = tmp_path / "images"
    images.mkdir()
    for i, stem in enumerate(PHOTOS + PAINTINGS):
        Image.fromarray(noise(100 + i, (40 + 4 * i, 30))).save(images / f"{stem}{'.jpg' if i < 2 else '.png'}")
    made = {"images": images}
    for m, method in enumerate(("old-method", "new-method")):
        label = tmp_path / method
        (label / "images").mkdir(parents=True)
        (label / "tubingen.json").write_text("{}")  # bench.quality's other files: not results
        for p, photo in enumerate(PHOTOS):
            for s, painting in enumerate(PAINTINGS):
                for evals in (50, 300):  # bench.quality's snapshots: the last one is judged
                    pixels = noise(1000 * m + 10 * p + s + evals)
                    Image.fromarray(pixels).save(label / "images" / f"{photo}__{painting}__e{evals}.png")
        made[method] = label
    Image.fromarray(noise(7)).save(made["old-method"] / "images" / "house__absent__e300.png")  # only in A
    return made


def make(folders, out, seed=3, a="old-method", b="new-method"):
    blind.main(
        ["make", str(folders[a]), str(folders[b]), f"--out={out}", f"--seed={seed}", f"--images={folders['images']}"]
    )
    return json.loads((out / "key" / "key.json").read_text())


def result_area(sheet: np.ndarray, which: str) -> np.ndarray:
    """The pixels where the sheet shows its left or right result: the last two tiles of the row."""
    top, width = blind.MARGIN + blind.LINE + blind.GAP, sheet.shape[1]
    right = width - blind.MARGIN - SIZE[0]
    x = right if which == "right" else right - blind.GAP - SIZE[0]
    return sheet[top : top + SIZE[1], x : x + SIZE[0]]


def test_sheets_show_each_result_unchanged_where_the_key_says(folders, tmp_path, capsys):
    out = tmp_path / "check"
    key = make(folders, out)
    pairs = sorted(f"{p}__{s}" for p in PHOTOS for s in PAINTINGS)
    names = [f"sheet_{i:02d}" for i in range(1, len(pairs) + 1)]
    assert "only in A" in capsys.readouterr().out  # house__absent is left out, and said so
    assert list(key["sheets"]) == names and [key["sheets"][n]["pair"] for n in names] == pairs
    assert sorted(p.name for p in out.iterdir()) == sorted([*(n + ".png" for n in names), "key", "verdicts.json"])
    assert json.loads((out / "verdicts.json").read_text()) == dict.fromkeys(names)
    assert {key["methods"][m]["name"] for m in "AB"} == {"old-method", "new-method"}
    for name in names:
        entry = key["sheets"][name]
        sheet = np.asarray(Image.open(out / f"{name}.png").convert("RGB"))
        for side in ("left", "right"):
            method = ("old-method", "new-method")["AB".index(entry[side])]
            image = folders[method] / "images" / f"{entry['pair']}__e300.png"
            np.testing.assert_array_equal(result_area(sheet, side), np.asarray(Image.open(image)))
    orders = [key["sheets"][n]["left"] for n in names]
    assert set(orders) == {"A", "B"}  # both orders occur
    assert make(folders, tmp_path / "again")["sheets"] == key["sheets"]  # the same seed, the same order
    others = [make(folders, tmp_path / f"s{s}", seed=s)["sheets"] for s in (4, 5)]
    assert any([other[n]["left"] for n in names] != orders for other in others)  # another seed, another order


def test_nothing_outside_the_key_names_a_method(folders, tmp_path):
    out = tmp_path / "check"
    make(folders, out)
    for path in out.iterdir():
        if path.is_file():
            assert "method" not in path.name and "old" not in path.name and "new" not in path.name
            assert b"method" not in path.read_bytes()  # no name in the verdicts form nor in a PNG's text chunks
    # the same results under other folder names draw the very same sheets: no name reaches the pixels
    for method in ("old-method", "new-method"):
        folders[method.upper()] = folders[method].rename(tmp_path / method.replace("method", "x").upper())
    other = tmp_path / "other"
    make(folders, other, a="OLD-METHOD", b="NEW-METHOD")
    for sheet in out.glob("sheet_*.png"):
        assert (other / sheet.name).read_bytes() == sheet.read_bytes()


def test_tally_counts_against_the_key_and_refuses_an_unjudged_sheet(folders, tmp_path, capsys):
    out = tmp_path / "check"
    key = make(folders, out)
    names = list(key["sheets"])
    # B is better on every sheet but the first, which is a draw with a note
    filled = {n: "left" if key["sheets"][n]["left"] == "B" else "right" for n in names}
    filled[names[0]] = "equal: both lose the sky"
    filled[names[1]] = {"verdict": filled[names[1]], "note": "sharper"}
    verdicts = out / "verdicts.json"
    for bad, message in ((None, f"no verdict for {names[2]}"), ("better", "not one of left, right, equal")):
        verdicts.write_text(json.dumps(filled | {names[2]: bad}))
        capsys.readouterr()
        with pytest.raises(SystemExit) as stopped:
            blind.main(["tally", str(out)])
        error = capsys.readouterr().err
        assert stopped.value.code == 2 and message in error and error.count("\n") == 1
        assert not (out / "tally.json").exists()
    verdicts.write_text(json.dumps(filled))
    blind.main(["tally", str(out)])
    tally = json.loads((out / "tally.json").read_text())
    assert (tally["methods"]["A"]["wins"], tally["methods"]["B"]["wins"], tally["equal"]) == (0, len(names) - 1, 1)
    assert tally["methods"]["B"]["name"] == "new-method"
    first, second = tally["sheets"][names[0]], tally["sheets"][names[1]]
    assert (first["pair"], first["winner"], first["note"]) == (
        key["sheets"][names[0]]["pair"],
        None,
        "both lose the sky",
    )
    assert (second["winner"], second["winner_name"], second["note"]) == ("B", "new-method", "sharper")
    assert "new-method: 5 wins, equal: 1 (of 6 sheets)" in capsys.readouterr().out


def test_make_keeps_an_earlier_check_unless_told(folders, tmp_path, capsys):
    out = tmp_path / "check"
    make(folders, out)
    with pytest.raises(SystemExit) as stopped:
        make(folders, out)
    assert stopped.value.code == 2 and "--overwrite" in capsys.readouterr().err
