"""The Python package against the `cryptobt` command line, and on a local Ray cluster.

Run by the README's test command in a venv of its own (`pip install ./crates/cryptobt-py`,
pytest). The CLI binary is `$PYTEST_CRYPTOBT_BIN`, else the workspace's `target/debug/cryptobt`.
Ray stays on this machine: usage statistics off, every node bound to 127.0.0.1.
"""

import filecmp
import json
import os
import subprocess
import tempfile

os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
# Ray otherwise replaces 127.0.0.1 by the host's first address when it connects: every node and
# the driver stay on the loopback interface.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402

import cryptobt  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.environ.get("PYTEST_CRYPTOBT_BIN", os.path.join(ROOT, "target", "debug", "cryptobt"))
SMA = os.path.join(ROOT, "static", "strategies", "sma_crossover.lua")
DATA = os.path.join(ROOT, "data")
FILES = ("sweep.parquet", "returns.parquet", "sweep.json")


def cli(*args):
    done = subprocess.run([BIN, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr


def same_files(a, b):
    return [name for name in FILES if not filecmp.cmp(os.path.join(a, name), os.path.join(b, name), shallow=False)]


def test_a_backtest_equals_the_clis_json():
    run = cryptobt.backtest(strategy=SMA, symbols="BTCUSDT", timeframe="1h", start="2025-05-05",
                            end="2025-06-04", mode="futures", data_dir=DATA, fee=0.0007,
                            slippage_bps=2, params={"fast": 8})
    code, out, err = cli("backtest", "--strategy", SMA, "--symbol", "BTCUSDT", "--timeframe", "1h",
                         "--start", "2025-05-05", "--end", "2025-06-04", "--mode", "futures",
                         "--fee", "0.0007", "--slippage-bps", "2", "--param", "fast=8", "--json",
                         "--out", tempfile.mkdtemp())
    assert code == 0, err
    plain = json.loads(out)
    assert run.status == "completed"
    assert run.trades.num_rows == plain["trades"] > 0
    assert run.round_trips.num_rows == plain["round_trips"]
    for key, want in plain["metrics"].items():
        got = run.metrics[key]
        if want is None or got is None:
            assert got == want, key
        else:
            assert abs(got - want) <= 1e-12 * max(1.0, abs(want)), (key, got, want)
    # Tables pandas and polars read as they are.
    assert isinstance(run.trades, pa.Table) and run.equity.num_rows == 744
    assert run.trades.column("price").type == pa.float64()


def test_a_run_of_two_symbols_equals_the_clis():
    pairs = os.path.join(ROOT, "static", "strategies", "pairs_spread.lua")
    run = cryptobt.backtest(strategy=pairs, symbols=["BTCUSDT", "ETHUSDT"], timeframe="1h",
                            start="2025-05-05", end="2025-05-25", mode="futures", data_dir=DATA)
    code, out, err = cli("backtest", "--strategy", pairs, "--symbol", "BTCUSDT,ETHUSDT",
                         "--timeframe", "1h", "--start", "2025-05-05", "--end", "2025-05-25",
                         "--mode", "futures", "--json", "--out", tempfile.mkdtemp())
    assert code == 0, err
    plain = json.loads(out)
    assert run.status == "completed"
    assert run.round_trips.column_names[0] == "symbol"
    assert set(run.round_trips.column("symbol").to_pylist()) == {"BTCUSDT", "ETHUSDT"}
    assert run.metrics["by_symbol"] == plain["metrics"]["by_symbol"]
    assert list(run.metrics["by_symbol"]) == ["BTCUSDT", "ETHUSDT"]
    assert run.metrics["total_return"] == plain["metrics"]["total_return"]


def test_a_syntax_error_raises_with_its_code():
    with pytest.raises(cryptobt.Error) as caught:
        cryptobt.backtest(code="function on_data(bar) x = end", start="2025-01-01", end="2025-01-02",
                          data_dir=DATA)
    assert caught.value.code == "syntax_error"
    with pytest.raises(ValueError, match="colour"):
        cryptobt.backtest(code="function on_data(bar) end", start="2025-01-01", end="2025-01-02",
                          data_dir=DATA, colour="red")
    with pytest.raises(ValueError, match="blocks"):
        cryptobt.sweep(code="function on_data(bar) end", grid={"k": [1, 2]}, start="2025-01-01",
                       end="2025-01-02", data_dir=DATA, blocks=3)


def sweep_args(out, *extra):
    return ("sweep", "--strategy", SMA, "--symbol", "BTCUSDT", "--timeframe", "1h", "--start",
            "2025-01-01", "--end", "2025-01-20", "--grid", "fast=5:15:5", "--grid", "slow=20,40",
            "--blocks", "4", "--out", out, *extra)


SWEEP = dict(strategy=SMA, grid={"fast": "5:15:5", "slow": [20, 40]}, symbols="BTCUSDT",
             timeframe="1h", start="2025-01-01", end="2025-01-20", blocks=4, data_dir=DATA)


@pytest.fixture(scope="module")
def cli_sweep():
    out = tempfile.mkdtemp()
    code, _, err = cli(*sweep_args(out))
    assert code == 0, err
    return out


def test_a_six_member_sweep_written_from_python_is_the_clis_byte_for_byte(cli_sweep):
    swept = cryptobt.sweep(**SWEEP)
    assert swept.table.num_rows == 6 and swept.best is not None
    out = tempfile.mkdtemp()
    swept.write(out)
    assert same_files(out, cli_sweep) == []


@pytest.fixture(scope="module")
def cluster():
    import ray
    from ray.cluster_utils import Cluster

    local = {"node_ip_address": "127.0.0.1", "num_cpus": 1}
    c = Cluster(initialize_head=True, head_node_args={**local, "include_dashboard": False})
    worker = c.add_node(**local)
    ray.init(address=c.address, _node_ip_address="127.0.0.1")
    c.wait_for_nodes()
    yield c, worker
    ray.shutdown()
    c.shutdown()


def test_the_same_sweep_on_a_two_node_ray_cluster_is_byte_for_byte(cluster, cli_sweep):
    import cryptobt.ray

    import ray
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    swept = cryptobt.ray.sweep(**SWEEP, tasks=3)
    out = tempfile.mkdtemp()
    swept.write(out)
    assert same_files(out, cli_sweep) == []


def test_a_ray_sweep_survives_losing_its_worker_node(cluster):
    import cryptobt.ray

    c, worker = cluster
    month = dict(strategy=SMA, grid={"fast": "2:30:1", "slow": "40:130:10"}, symbols="BTCUSDT",
                 timeframe="1m", start="2025-01-01", end="2025-01-31", blocks=4, data_dir=DATA)
    one = tempfile.mkdtemp()
    reference = cryptobt.sweep(**month)
    assert reference.table.num_rows == 290
    reference.write(one)
    seen = []

    def progress(done, total):
        seen.append(done)
        if done == 3:
            # Three of 58 tasks are done, the others are queued or running on both nodes: the
            # worker node goes, with the tasks it was running.
            c.remove_node(worker, allow_graceful=False)

    swept = cryptobt.ray.sweep(**month, tasks=58, max_retries=5, progress=progress)
    assert seen[-1] == 58 and 3 in seen
    assert len(c.list_all_nodes()) == 1, "the worker node is gone"
    out = tempfile.mkdtemp()
    swept.write(out)
    assert same_files(out, one) == []


def test_bars_are_a_table_of_the_days_asked():
    table = cryptobt.bars("BTCUSDT", "1h", "2025-01-01", "2025-01-02", data_dir=DATA)
    assert table.num_rows == 48
    assert table.column_names == ["timestamp", "open", "high", "low", "close", "volume"]
