"""Restarting on the same data dir keeps every object, and revisions continue from where they were."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from ferry.cluster.server import ClusterConfig, ClusterError, run_cluster
from tests.integration.conftest import Api


async def _start(data: Path) -> tuple[asyncio.Task[None], asyncio.Event, str]:
    stop = asyncio.Event()
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    config = ClusterConfig(data_dir=data, port=0, runtime="none")
    task = asyncio.create_task(run_cluster(config, stop=stop, ready=started.set_result))
    done, _ = await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    return task, stop, started.result()


async def test_objects_and_revisions_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "cluster"
    task, stop, url = await _start(data)
    token = (data / "admin.token").read_text().strip()
    async with aiohttp.ClientSession() as session:
        api = Api(url, token, data / "pki" / "ca.crt", session)
        created = await api.post(
            "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "keep"}, "data": {"a": "1"}}
        )
        assert created.status == 201
        rv_before = int((await api.get("/api/v1/namespaces")).body["metadata"]["resourceVersion"])
    stop.set()
    await task
    ca_before = (data / "pki" / "ca.crt").read_bytes()

    task, stop, url2 = await _start(data)
    async with aiohttp.ClientSession() as session:
        api = Api(url2, token, data / "pki" / "ca.crt", session)
        kept = await api.get("/api/v1/namespaces/default/configmaps/keep")
        assert kept.status == 200
        assert kept.body["data"] == {"a": "1"}
        assert kept.body["metadata"]["uid"] == created.body["metadata"]["uid"]
        again = await api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "new"}})
        assert int(again.body["metadata"]["resourceVersion"]) > rv_before
        # bootstrap ran once: the system namespaces are there and were not recreated
        names = [n["metadata"]["name"] for n in (await api.get("/api/v1/namespaces")).body["items"]]
        assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= set(names)
    stop.set()
    await task
    assert (data / "pki" / "ca.crt").read_bytes() == ca_before  # existing kubeconfigs stay valid


async def test_second_cluster_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "cluster"
    task, stop, _ = await _start(data)
    try:
        second = asyncio.create_task(run_cluster(ClusterConfig(data_dir=data, port=0, runtime="none")))
        try:
            await asyncio.wait_for(second, 10)
            raise AssertionError("a second cluster started on the same data dir")
        except ClusterError as e:
            assert "already running" in str(e)
    finally:
        stop.set()
        await task
