"""Sweeps on a Ray cluster: Ray schedules, cryptobt runs the members.

The members are cut into tasks by the sweep's member numbering (contiguous ranges of indices);
each task runs its members with the Rust sweep runner (one process, the first member alone
first, as in a one-process sweep) on a worker, reading the data directory by path — every node
of the cluster must see it at the same path (a shared disk; on one machine, the same folder).
The rows come back and are joined in index order; PBO, DSR and the walk-forward run on the joined
rows in the caller's process. The result equals :func:`cryptobt.sweep`'s, and ``write`` gives the
same bytes. A task lost with its worker or node is retried by Ray (``max_retries``).

cryptobt never turns Ray's usage statistics on; set ``RAY_USAGE_STATS_ENABLED=0`` before Ray
starts (the tests do) so that nothing leaves the machine. A cluster on one machine stays on
127.0.0.1 with ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (else Ray swaps 127.0.0.1 for the host's
first address when it connects) and ``_node_ip_address="127.0.0.1"``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from . import Error, Sweep, _finish_sweep, _native, _sweep_spec

__all__ = ["sweep"]


def _run_part(spec_json: str, indices: Sequence[int]) -> str:
    text = _native.sweep_part(spec_json, list(indices))
    answer = json.loads(text)
    if answer.get("error"):
        raise Error(answer["error"]["code"], answer["error"]["message"])
    return text


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
    address: Optional[str] = None,
    tasks: Optional[int] = None,
    max_retries: int = 3,
    progress: Optional[Callable[[int, int], None]] = None,
    **settings: Any,
) -> Sweep:
    """Runs :func:`cryptobt.sweep`'s sweep on Ray.

    ``address=None`` uses the Ray connection the caller opened (``ray.init(...)``), else starts
    a local one on 127.0.0.1. ``tasks`` (default: four per CPU of the cluster, at most one per
    member) sets how many tasks the members are cut into; each task runs on one CPU.
    ``progress(done, total)`` is called in the caller's thread as tasks finish.
    """
    import ray

    spec = _sweep_spec(strategy, code, symbols, timeframe, start, end, mode, params, data_dir, grid,
                       random, seed, objective, minimize, walk_forward, blocks, 1, None, settings)
    spec_json = json.dumps(spec)
    members = _native.sweep_plan(spec_json)
    if not ray.is_initialized():
        if address is None:
            # A local Ray on the loopback interface only, without usage statistics.
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
            ray.init(include_dashboard=False, _node_ip_address="127.0.0.1")
        else:
            ray.init(address=address)
    if tasks is None:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        tasks = 4 * max(cpus, 1)
    tasks = max(1, min(int(tasks), members))
    size = -(-members // tasks)
    chunks = [list(range(k, min(k + size, members))) for k in range(0, members, size)]
    remote = ray.remote(num_cpus=1, max_retries=max_retries)(_run_part)
    # The spec goes to the object store once, not once per task.
    spec_ref = ray.put(spec_json)
    refs = [remote.remote(spec_ref, chunk) for chunk in chunks]
    position = {ref: k for k, ref in enumerate(refs)}
    parts: list = [None] * len(refs)
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            # Fetched as soon as it is done: a node lost later takes no finished part with it.
            parts[position[ref]] = ray.get(ref)
        if progress is not None:
            progress(len(refs) - len(pending), len(refs))
    folder = tempfile.mkdtemp(prefix="cryptobt-ray-sweep-")
    try:
        return _finish_sweep(_native.sweep_join(spec_json, parts, folder), folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
