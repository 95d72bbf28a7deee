from typing import Any, Callable, List, Mapping, Optional, Sequence, Union

from . import Sweep

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
    address: Optional[str] = ...,
    tasks: Optional[int] = ...,
    max_retries: int = ...,
    progress: Optional[Callable[[int, int], None]] = ...,
    **settings: Any,
) -> Sweep: ...
