"""`detector simulate` on the README install: results without matplotlib, plotting optional."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from detector.cli import main
from detector.classify.simulation import STRATEGIES

# A real interpreter in which `import matplotlib` fails, as on an install without the plot extra.
WITHOUT_MATPLOTLIB = """
import sys

class NoMatplotlib:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "matplotlib":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoMatplotlib())
from detector.cli import main
sys.argv = ["detector", *sys.argv[1:]]
main()
"""
SMALL = ["--corpus-size", "600", "--base-train", "100", "--checkpoints", "0,10,20", "--batch", "10",
         "--repeats", "2", "--hash-bits", "12"]


def test_simulate_json_works_without_matplotlib_and_names_the_extra(tmp_path) -> None:
    out = tmp_path / "curve.png"
    run = subprocess.run([sys.executable, "-c", WITHOUT_MATPLOTLIB, "simulate", *SMALL, "--json", "--out", str(out)],
                         capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert set(result["curves"]) == set(STRATEGIES) and result["config"]["repeats"] == 2
    for strategy in STRATEGIES:
        assert list(result["mean"][strategy]) == ["0", "10", "20"]
        assert all(len(f1s) == 2 and all(0 <= f <= 1 for f in f1s) for f1s in result["curves"][strategy].values())
        spread = result["spread"][strategy]["20"]
        assert spread["min"] <= result["mean"][strategy]["20"] <= spread["max"] and spread["sd"] >= 0
    note = [line for line in run.stderr.splitlines() if "matplotlib" in line]
    assert len(note) == 1 and "pip install -e '.[plot]'" in note[0] and "Traceback" not in run.stderr
    assert not out.exists()


def test_simulate_refuses_bad_checkpoints_in_one_line() -> None:
    result = CliRunner().invoke(main, ["simulate", "--checkpoints", "ten,20", "--no-plot"])
    assert result.exit_code == 2 and "give label counts separated by commas" in result.output
    assert "Traceback" not in result.output


def test_a_checkpoint_beyond_the_stream_is_refused_instead_of_refitting_forever() -> None:
    """More labels asked than the stream holds: the loop could never reach them (it refitted forever)."""
    result = CliRunner().invoke(main, ["simulate", "--corpus-size", "3000", "--checkpoints", "0,5000", "--no-plot"])
    assert result.exit_code == 1 and "fewer than the checkpoint 5000" in result.output
    assert "Traceback" not in result.output
