"""A cloned config repo: writes are pushed; a push race is rebased and retried; the same pin twice is refused."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ferry.delivery import gitrepo
from ferry.delivery.configrepo import ConfigRepo
from ferry.delivery.repoerrors import ConfigRepoError, PinConflict
from tests.unit.configrepo_support import git, origin, pin

QA_PIN = "envs/qa/order-service/pin.yaml"


def clone(url: str, cache: Path) -> ConfigRepo:
    return ConfigRepo(url, cache_root=cache)


def remote_log(url: str) -> list[str]:
    return git(Path(url.removeprefix("file://")), "log", "--format=%s", "main").splitlines()


def test_a_url_is_cloned_into_the_cache_and_writes_are_pushed(tmp_path: Path) -> None:
    url = origin(tmp_path)
    repo = clone(url, tmp_path / "cache")
    assert repo.path.parent == tmp_path / "cache" and (repo.path / ".git").is_dir()
    assert repo.branch == "main"
    sha = repo.write_pin("qa", "order-service", pin(), "promote", "alice")
    assert sha == git(Path(url.removeprefix("file://")), "rev-parse", "main")
    assert remote_log(url) == ["promote", "seed"]


def test_a_bare_repository_path_is_cloned_like_a_url(tmp_path: Path) -> None:
    url = origin(tmp_path)
    repo = ConfigRepo(Path(url.removeprefix("file://")), cache_root=tmp_path / "cache")
    assert repo.remote is not None and repo.path.parent == tmp_path / "cache"
    repo.write_pin("qa", "order-service", pin(), "promote", "alice")
    assert remote_log(url)[0] == "promote"


def test_different_services_race_and_the_loser_rebases_and_pushes(tmp_path: Path) -> None:
    url = origin(tmp_path)
    a, b = clone(url, tmp_path / "a"), clone(url, tmp_path / "b")  # both start from the seed commit
    first = a.write_pin("qa", "order-service", pin(n=1), "order to qa", "alice")
    second = b.write_pin("qa", "auth-service", pin(n=2), "auth to qa", "bob")  # rejected, rebased, pushed
    bare = Path(url.removeprefix("file://"))
    assert git(bare, "rev-parse", "main") == second
    assert git(bare, "rev-parse", "main^") == first  # linear: bob's commit sits on alice's
    assert remote_log(url) == ["auth to qa", "order to qa", "seed"]
    fresh = clone(url, tmp_path / "fresh")
    assert fresh.read_pin("qa", "order-service") == pin(n=1)
    assert fresh.read_pin("qa", "auth-service") == pin(n=2)


def test_the_same_pin_written_twice_concurrently_is_a_conflict_naming_the_file(tmp_path: Path) -> None:
    url = origin(tmp_path)
    a, b = clone(url, tmp_path / "a"), clone(url, tmp_path / "b")
    a.write_pin("qa", "order-service", pin(n=1), "alice's promotion", "alice")
    with pytest.raises(PinConflict) as caught:
        b.write_pin("qa", "order-service", pin(n=2), "bob's promotion", "bob")
    assert caught.value.path == QA_PIN
    assert str(caught.value).startswith(f"{QA_PIN} was changed concurrently (")
    assert "by alice: alice's promotion); nothing was pushed: read the pin again and retry" in str(
        caught.value
    )
    assert remote_log(url) == ["alice's promotion", "seed"]  # bob wrote nothing
    # bob's clone dropped its commit and now shows what won; a retry on top of it goes through
    assert b.read_pin("qa", "order-service") == pin(n=1)
    assert git(b.path, "status", "--porcelain") == ""
    b.write_pin("qa", "order-service", pin(n=2), "bob again", "bob")
    assert remote_log(url)[0] == "bob again"


def test_opening_again_and_refresh_catch_up_with_the_remote(tmp_path: Path) -> None:
    url = origin(tmp_path)
    a, b = clone(url, tmp_path / "a"), clone(url, tmp_path / "b")
    sha = a.write_pin("qa", "order-service", pin(n=1), "one", "alice")
    assert b.read_pin("qa", "order-service") is None  # a snapshot until refreshed
    assert b.refresh() == sha and b.read_pin("qa", "order-service") == pin(n=1)
    a.write_pin("qa", "order-service", pin(n=3), "three", "alice")
    assert clone(url, tmp_path / "b").read_pin("qa", "order-service") == pin(
        n=3
    )  # reopening the cache fetches


def test_an_empty_remote_takes_the_first_commit(tmp_path: Path) -> None:
    bare = tmp_path / "empty.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)], check=True)
    repo = clone(f"file://{bare}", tmp_path / "cache")
    assert repo.head() is None and repo.read_pin("qa", "x") is None
    sha = repo.write_pin("qa", "x", pin(), "first", "alice")
    assert git(bare, "rev-parse", "main") == sha


def test_an_unreachable_remote_fails_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigRepoError) as caught:
        clone(f"file://{tmp_path}/nowhere.git", tmp_path / "cache")
    assert str(caught.value) == (
        f"cannot clone the config repo file://{tmp_path}/nowhere.git: "
        f"fatal: '{tmp_path}/nowhere.git' does not appear to be a git repository"
    )
    assert "\n" not in str(caught.value)
    assert list((tmp_path / "cache").iterdir()) == []  # no half clone left behind


def test_a_push_that_fails_for_another_reason_drops_the_local_commit(tmp_path: Path) -> None:
    url = origin(tmp_path)
    repo = clone(url, tmp_path / "cache")
    seed = repo.head()
    shutil.rmtree(url.removeprefix("file://"))  # the remote is gone
    with pytest.raises(
        ConfigRepoError,
        match=r"^git push to origin main: fatal: .* does not appear to be a git repository; nothing was pushed$",
    ):
        repo.write_pin("qa", "order-service", pin(), "lost", "alice")
    assert repo.head() == seed and repo.read_pin("qa", "order-service") is None


def test_a_writer_that_keeps_losing_gives_up_after_the_bounded_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = origin(tmp_path)
    loser, rival = clone(url, tmp_path / "loser"), clone(url, tmp_path / "rival")
    real_run = gitrepo.Git.run
    rounds = []

    def racing_run(self: gitrepo.Git, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        if self.work_tree == loser.path and args[0] == "push":  # someone else pushes first, every time
            rounds.append(args)
            rival.write_pin("qa", f"svc-{len(rounds)}", pin(n=len(rounds)), f"rival {len(rounds)}", "rival")
        return real_run(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gitrepo.Git, "run", racing_run)
    seed = loser.head()
    with pytest.raises(
        ConfigRepoError, match=r"still non-fast-forward after 5 attempts .*nothing was pushed"
    ):
        loser.write_pin("qa", "order-service", pin(), "mine", "loser")
    assert len(rounds) == gitrepo.MAX_PUSH_ATTEMPTS
    assert "mine" not in remote_log(url)
    assert loser.head() != seed and loser.read_pin("qa", "order-service") is None  # reset to the remote head
