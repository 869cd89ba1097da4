"""``bench.prints``: a tiny table of memory mechanisms through its command line, each row measured in this
process (``python -m bench.prints --worker`` runs it apart)."""

import json
import re
import sys

from conftest import SHALLOW

from bench import common, prints

SHALLOW_SETS = [f"--set={name}={','.join(layers)}" for name, layers in SHALLOW.items()]


def test_tiny_prints_table_has_an_estimate_a_peak_and_a_loss_per_mechanism(monkeypatch, capsys):
    monkeypatch.setattr(common, "measure_apart", lambda module, *args: json.loads(json.dumps(prints.work(*args))))
    argv = ["bench.prints", "--sizes=64", "--mechanisms=plain,32/adam", "--evaluations=2", *SHALLOW_SETS]
    monkeypatch.setattr(sys, "argv", argv)
    prints.main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 64x")]
    assert len(rows) == 2 and "tiles of 32 px" in rows[1] or "32" in rows[1]
    for row in rows:
        estimate, peak, ratio, seconds, evaluations, loss = re.search(
            r"\| (\S+) GB \| (\S+) GB \| (\S+) \| (\S+) \| (\d+) \| (\S+) \|$", row
        ).groups()
        assert float(estimate) > 0 and float(peak) > 0 and float(seconds) > 0 and 0 < float(loss) < 100
        assert abs(float(ratio) - float(estimate) / float(peak)) < 0.02 and evaluations == "2"
