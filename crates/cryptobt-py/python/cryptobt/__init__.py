"""cryptobt from Python: backtests, parameter sweeps and bars, with results as pyarrow Tables.

The engine is cryptobt's own (Rust): runs and sweeps go through the same paths as the
``cryptobt`` command line, and the GIL is released while they run. A failed run raises
:class:`Error` (``.code`` is the run's ``error_code``); a bad argument raises ``ValueError``
naming it. See docs/python.md.

>>> import cryptobt
>>> run = cryptobt.backtest(strategy="static/strategies/sma_crossover.lua", symbols="BTCUSDT",
...                         timeframe="1h", start="2025-01-01", end="2025-01-31")
>>> run.metrics["total_return"]            # doctest: +SKIP
>>> run.trades.to_pandas()                 # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import _native

__all__ = ["Error", "Run", "Sweep", "backtest", "sweep", "bars"]

#: The run settings ``backtest`` and ``sweep`` take: the CLI's run flags with ``_``.
SETTINGS = tuple(_native.SETTINGS)


class Error(Exception):
    """A run or sweep that failed; ``code`` is its ``error_code`` (``syntax_error``,
    ``runtime_error``, ``data_error``, ``invalid_argument``, ...), ``message`` says why."""

    def __init__(self, code: str, message: str, line: Optional[int] = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.line = line


def _text(value: Any) -> str:
    """A number as the exact text the CLI would take (floats by their shortest repr)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _run_spec(strategy, code, symbols, timeframe, start, end, mode, params, data_dir, settings):
    if (strategy is None) == (code is None):
        raise ValueError("give one of strategy= (a file) or code= (the source)")
    if strategy is not None:
        with open(strategy, encoding="utf-8") as f:
            code = f.read()
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError(f"unknown keyword {unknown[0]!r}; the run settings are {', '.join(SETTINGS)}")
    if isinstance(symbols, str):
        symbols = [s.strip() for s in symbols.split(",") if s.strip()]
    return {
        "code": code,
        "symbols": list(symbols),
        "timeframe": str(timeframe),
        "start": str(start),
        "end": str(end),
        "mode": str(mode),
        "params": {k: (v if isinstance(v, str) else float(v)) for k, v in (params or {}).items()},
        # Absolute: Ray workers do not share the caller's working directory.
        "data_dir": os.path.abspath(data_dir),
        "settings": {k: _text(v) for k, v in settings.items() if v is not None},
    }


def _answer(text: str) -> Dict[str, Any]:
    answer = json.loads(text)
    error = answer.get("error") if isinstance(answer, dict) else None
    if error:
        raise Error(error["code"], error["message"])
    return answer


_MONEY = pa.float64()


def _read_csv(path: str, types: Optional[Mapping[str, pa.DataType]] = None) -> pa.Table:
    if not os.path.exists(path):
        return pa.table({})
    options = pacsv.ConvertOptions(column_types=dict(types or {}), strings_can_be_null=True)
    return pacsv.read_csv(path, convert_options=options)


@dataclass
class Run:
    """A finished backtest: ``metrics`` (``metrics.json``'s values), the fills, the round trips
    and the equity curve as pyarrow Tables (money as float64; the files keep the exact decimals),
    and what ``--json`` says of it (``summary``)."""

    metrics: Dict[str, Any]
    trades: pa.Table
    round_trips: pa.Table
    equity: pa.Table
    summary: Dict[str, Any] = field(repr=False)

    @property
    def status(self) -> str:
        return self.summary["status"]


def backtest(
    strategy: Optional[str] = None,
    *,
    code: Optional[str] = None,
    symbols: Union[str, Sequence[str]] = "BTCUSDT",
    timeframe: str = "1h",
    start: str,
    end: str,
    mode: str = "spot",
    params: Optional[Mapping[str, Any]] = None,
    data_dir: str = "data",
    out: Optional[str] = None,
    **settings: Any,
) -> Run:
    """Runs a backtest, as ``cryptobt backtest`` does.

    ``strategy`` is a Lua file, or ``code`` its source (one of the two). ``settings`` are the
    CLI's run flags with ``_``: capital, max_leverage, mmr, fee, maker_fee, slippage_bps, fill,
    intrabar, funding_rate, max_duration, memory_limit_mb. ``out=None`` writes no files;
    ``out="dir"`` writes what ``backtest --out dir`` writes. Raises :class:`Error` when the run
    fails (a syntax error: ``code == "syntax_error"``) and ``ValueError`` for a bad argument.
    """
    spec = _run_spec(strategy, code, symbols, timeframe, start, end, mode, params, data_dir, settings)
    folder = out if out is not None else tempfile.mkdtemp(prefix="cryptobt-run-")
    try:
        answer = _answer(_native.backtest(json.dumps(spec), os.path.abspath(folder)))
        if answer.get("status") != "completed" and answer.get("error_code"):
            raise Error(answer["error_code"], answer.get("error_message") or "", answer.get("error_line"))
        money = {c: _MONEY for c in ("quantity", "price", "leverage", "fee", "pnl")}
        trades = _read_csv(os.path.join(folder, "trades.csv"), {**money, "tag": pa.string()})
        trips = _read_csv(
            os.path.join(folder, "round_trips.csv"),
            {c: _MONEY for c in ("max_size", "entry_price", "exit_price", "fees", "funding", "pnl")},
        )
        equity = _read_csv(
            os.path.join(folder, "portfolio.csv"),
            {c: _MONEY for c in ("portfolio_value", "cash", "unrealized_pnl", "realized_pnl", "margin_used", "leverage_ratio")},
        )
        return Run(metrics=answer["metrics"], trades=trades, round_trips=trips, equity=equity, summary=answer)
    finally:
        if out is None:
            shutil.rmtree(folder, ignore_errors=True)


def _grid_text(grid: Mapping[str, Any]) -> List[str]:
    out = []
    for name, spec in grid.items():
        if isinstance(spec, (list, tuple)):
            spec = ",".join(_text(v) for v in spec)
        out.append(f"{name}={spec}")
    return out


def _sweep_spec(strategy, code, symbols, timeframe, start, end, mode, params, data_dir, grid,
                random, seed, objective, minimize, walk_forward, blocks, threads, max_sweep_duration,
                settings):
    return {
        "run": _run_spec(strategy, code, symbols, timeframe, start, end, mode, params, data_dir, settings),
        "grid": _grid_text(grid),
        "random": random,
        "seed": int(seed),
        "objective": objective,
        "minimize": bool(minimize),
        "walk_forward": walk_forward,
        "blocks": int(blocks),
        "threads": threads,
        "max_sweep_duration": max_sweep_duration,
    }


class Sweep:
    """A finished sweep: ``table`` (equal to ``sweep.parquet``), ``returns`` (``returns.parquet``),
    ``summary`` (``sweep.json``) with ``best``, ``pbo``, ``dsr`` and ``walk_forward``;
    ``write(dir)`` writes the files ``cryptobt sweep --out dir`` writes, byte for byte."""

    def __init__(self, folder: str, summary: Dict[str, Any]):
        self._files = {}
        for name in ("sweep.parquet", "returns.parquet", "sweep.json"):
            with open(os.path.join(folder, name), "rb") as f:
                self._files[name] = f.read()
        self.summary = summary
        self.table: pa.Table = pq.read_table(io.BytesIO(self._files["sweep.parquet"]))
        self.returns: pa.Table = pq.read_table(io.BytesIO(self._files["returns.parquet"]))

    best = property(lambda self: self.summary.get("best"))
    pbo = property(lambda self: self.summary.get("pbo"))
    dsr = property(lambda self: self.summary.get("dsr"))
    walk_forward = property(lambda self: self.summary.get("walk_forward"))

    def write(self, directory: str) -> None:
        """Writes ``sweep.parquet``, ``returns.parquet`` and ``sweep.json`` into ``directory``."""
        os.makedirs(directory, exist_ok=True)
        for name, data in self._files.items():
            tmp = os.path.join(directory, f".{name}.tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, os.path.join(directory, name))


def _finish_sweep(text: str, folder: str) -> Sweep:
    answer = _answer(text)
    swept = Sweep(folder, answer["summary"])
    failure = answer.get("failure")
    if failure:
        error = Error(failure["code"], failure["message"])
        error.sweep = swept
        raise error
    return swept


def sweep(
    strategy: Optional[str] = None,
    *,
    code: Optional[str] = None,
    grid: Mapping[str, Any],
    symbols: Union[str, Sequence[str]] = "BTCUSDT",
    timeframe: str = "1h",
    start: str,
    end: str,
    mode: str = "spot",
    params: Optional[Mapping[str, Any]] = None,
    data_dir: str = "data",
    random: Optional[int] = None,
    seed: int = 0,
    objective: str = "sharpe_ratio",
    minimize: bool = False,
    walk_forward: Optional[str] = None,
    blocks: int = 16,
    threads: Optional[int] = None,
    max_sweep_duration: Optional[int] = None,
    **settings: Any,
) -> Sweep:
    """Runs a parameter sweep in this process on ``threads`` (default: every core), as
    ``cryptobt sweep`` does. ``grid`` maps each parameter to a CLI SPEC (``"5:50:5"``,
    ``"a,b"``) or a list (``[20, 30]`` is ``20,30``). A sweep whose members all fail, or that runs
    past ``max_sweep_duration``, raises :class:`Error` (its ``sweep`` attribute keeps the rows)."""
    spec = _sweep_spec(strategy, code, symbols, timeframe, start, end, mode, params, data_dir, grid,
                       random, seed, objective, minimize, walk_forward, blocks, threads,
                       max_sweep_duration, settings)
    folder = tempfile.mkdtemp(prefix="cryptobt-sweep-")
    try:
        return _finish_sweep(_native.sweep(json.dumps(spec), folder), folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bars(symbol: str, timeframe: str, start: str, end: str, mode: str = "spot",
         data_dir: str = "data") -> pa.Table:
    """The bars of a range from the data directory, checked as a run reads them: ``timestamp``
    (bar open, ms) and ``open``, ``high``, ``low``, ``close``, ``volume`` (float64)."""
    text = _native.bars(symbol, str(timeframe), str(start), str(end), mode, os.path.abspath(data_dir))
    if text.startswith("{"):
        _answer(text)
    types = {c: pa.float64() for c in ("open", "high", "low", "close", "volume")}
    return pacsv.read_csv(io.BytesIO(text.encode()), convert_options=pacsv.ConvertOptions(column_types=types))
