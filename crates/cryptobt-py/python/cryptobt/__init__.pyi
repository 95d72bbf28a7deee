from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import pyarrow as pa

SETTINGS: tuple

class Error(Exception):
    """A failed run or sweep; ``code`` is its ``error_code``."""
    code: str
    message: str
    line: Optional[int]
    def __init__(self, code: str, message: str, line: Optional[int] = ...) -> None: ...

class Run:
    """A finished backtest."""
    metrics: Dict[str, Any]
    trades: pa.Table
    round_trips: pa.Table
    equity: pa.Table
    summary: Dict[str, Any]
    @property
    def status(self) -> str: ...

class Sweep:
    """A finished sweep."""
    table: pa.Table
    returns: pa.Table
    summary: Dict[str, Any]
    @property
    def best(self) -> Optional[Dict[str, Any]]: ...
    @property
    def pbo(self) -> Optional[float]: ...
    @property
    def dsr(self) -> Optional[float]: ...
    @property
    def walk_forward(self) -> Optional[Dict[str, Any]]: ...
    def write(self, directory: str) -> None: ...

def backtest(
    strategy: Optional[str] = ...,
    *,
    code: Optional[str] = ...,
    symbols: Union[str, Sequence[str]] = ...,
    timeframe: str = ...,
    start: str,
    end: str,
    mode: str = ...,
    params: Optional[Mapping[str, Any]] = ...,
    data_dir: str = ...,
    out: Optional[str] = ...,
    capital: Any = ...,
    max_leverage: Any = ...,
    mmr: Any = ...,
    fee: Any = ...,
    maker_fee: Any = ...,
    slippage_bps: Any = ...,
    fill: str = ...,
    intrabar: str = ...,
    funding_rate: Any = ...,
    max_duration: int = ...,
    memory_limit_mb: int = ...,
) -> Run: ...

def sweep(
    strategy: Optional[str] = ...,
    *,
    code: Optional[str] = ...,
    grid: Mapping[str, Union[str, List[Any]]],
    symbols: Union[str, Sequence[str]] = ...,
    timeframe: str = ...,
    start: str,
    end: str,
    mode: str = ...,
    params: Optional[Mapping[str, Any]] = ...,
    data_dir: str = ...,
    random: Optional[int] = ...,
    seed: int = ...,
    objective: str = ...,
    minimize: bool = ...,
    walk_forward: Optional[str] = ...,
    blocks: int = ...,
    threads: Optional[int] = ...,
    max_sweep_duration: Optional[int] = ...,
    **settings: Any,
) -> Sweep: ...

def bars(symbol: str, timeframe: str, start: str, end: str, mode: str = ..., data_dir: str = ...) -> pa.Table: ...
