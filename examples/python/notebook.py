# %% [markdown]
# # cryptobt in a notebook
# A run into pandas, a sweep into polars, and the same sweep on a local Ray cluster. Each cell
# runs as it is (`python examples/python/notebook.py` from the repository's root; CI runs it).

# %%
import os
import tempfile

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import cryptobt

SMA = "static/strategies/sma_crossover.lua"

# %% [markdown]
# ## A backtest, its trades in pandas

# %%
run = cryptobt.backtest(strategy=SMA, symbols="BTCUSDT", timeframe="1h",
                        start="2025-01-01", end="2025-01-31", params={"fast": 10, "slow": 30})
print(f"return {run.metrics['total_return']:.2f} %, Sharpe {run.metrics['sharpe_ratio']:.2f}, "
      f"{run.trades.num_rows} fills")
trades = run.trades.to_pandas()
print(trades.groupby("action")["fee"].sum())

# %% [markdown]
# ## A sweep, its table in polars

# %%
import polars as pl

sweep = cryptobt.sweep(strategy=SMA, grid={"fast": "5:20:5", "slow": [30, 50]}, timeframe="1h",
                       start="2025-01-01", end="2025-01-31", blocks=4)
table = pl.from_arrow(sweep.table)
print(table.sort("sharpe_ratio", descending=True).select(["index", "fast", "slow", "sharpe_ratio", "total_return"]).head(3))
print("best", sweep.best, "PBO", sweep.pbo)

# %% [markdown]
# ## The same sweep on Ray (a local cluster on 127.0.0.1)

# %%
import ray

import cryptobt.ray

ray.init(include_dashboard=False, _node_ip_address="127.0.0.1", num_cpus=2)
on_ray = cryptobt.ray.sweep(strategy=SMA, grid={"fast": "5:20:5", "slow": [30, 50]}, timeframe="1h",
                            start="2025-01-01", end="2025-01-31", blocks=4)
ray.shutdown()
a, b = tempfile.mkdtemp(), tempfile.mkdtemp()
sweep.write(a)
on_ray.write(b)
same = all(open(os.path.join(a, n), "rb").read() == open(os.path.join(b, n), "rb").read()
           for n in ("sweep.parquet", "returns.parquet", "sweep.json"))
print("Ray gives the same files:", same)
assert same
