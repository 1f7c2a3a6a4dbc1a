"""A config repo used in place (a local work tree): commits, reads at revisions, values, history, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.delivery.configrepo import ConfigRepo, HistoryEntry, ValuesFile
from ferry.delivery.pins import move_message, render_pin
from ferry.delivery.platform import parse_platform
from ferry.delivery.repoerrors import ConfigRepoError, PinError
from tests.unit.configrepo_support import digest, git, pin, work_tree

PIN = "envs/sit/order-service/pin.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> ConfigRepo:
    return ConfigRepo(work_tree(tmp_path / "deploy"))


def test_write_pin_makes_one_commit_that_says_what_moved(repo: ConfigRepo) -> None:
    before = repo.head()
    p = pin(git_sha="a8f3d21" + "0" * 33)
    message = move_message("order-service", p, to_env="sit")
    sha = repo.write_pin("sit", "order-service", p, message, "Alice Smith <alice@example.com>")
    assert sha == repo.head() == git(repo.path, "rev-parse", "HEAD")
    assert git(repo.path, "rev-parse", "HEAD^") == before
    assert git(repo.path, "log", "-1", "--format=%an|%ae|%cn|%s") == (
        "Alice Smith|alice@example.com|Alice Smith|promote order-service 1.4.2-a8f3d21 "
        "(sha256:000000000000…) build a8f3d21 → sit"
    )
    assert git(repo.path, "log", "-1", "--format=%b").splitlines() == [
        "Ferry-Environment: sit",
        "Ferry-Service: order-service",
        f"Ferry-Digest: {digest(1)}",
    ]
    assert git(repo.path, "show", "--name-only", "--format=", "HEAD") == PIN
    assert git(repo.path, "show", f"HEAD:{PIN}") + "\n" == render_pin(p, where="envs/sit/order-service")
    assert repo.read_pin("sit", "order-service") == p


def test_writing_the_same_pin_again_makes_no_commit(repo: ConfigRepo) -> None:
    first = repo.write_pin("sit", "order-service", pin(), "m", "alice")
    assert repo.write_pin("sit", "order-service", pin(), "m again", "bob") is None
    assert repo.head() == first
    assert git(repo.path, "rev-list", "--count", "HEAD") == "2"


def test_a_bare_author_name_is_kept_with_an_empty_email(repo: ConfigRepo) -> None:
    repo.write_pin("sit", "order-service", pin(), "m", "ci-bot")
    assert git(repo.path, "log", "-1", "--format=%an|%ae") == "ci-bot|"


def test_reads_see_commits_not_the_work_tree(repo: ConfigRepo) -> None:
    first = repo.write_pin("sit", "order-service", pin(n=1), "one", "alice")
    repo.write_pin("sit", "order-service", pin(n=2), "two", "alice")
    assert repo.read_pin("sit", "order-service") == pin(n=2)
    assert repo.read_pin("sit", "order-service", revision=first or "") == pin(n=1)
    assert repo.read_pin("qa", "order-service") is None
    (repo.path / PIN).write_text("not: a pin\n")  # an uncommitted hand edit never reaches a cluster
    assert repo.read_pin("sit", "order-service") == pin(n=2)


def test_a_dirty_pin_file_is_not_overwritten(repo: ConfigRepo) -> None:
    repo.write_pin("sit", "order-service", pin(n=1), "one", "alice")
    (repo.path / PIN).write_text("# my edit\n")
    with pytest.raises(
        ConfigRepoError, match=r"pin.yaml: has uncommitted changes; commit or discard them first"
    ):
        repo.write_pin("sit", "order-service", pin(n=2), "two", "alice")
    assert (repo.path / PIN).read_text() == "# my edit\n"


def test_other_staged_changes_are_not_swept_into_the_pin_commit(repo: ConfigRepo) -> None:
    (repo.path / "notes.txt").write_text("wip\n")
    git(repo.path, "add", "notes.txt")
    repo.write_pin("sit", "order-service", pin(), "m", "alice")
    assert git(repo.path, "show", "--name-only", "--format=", "HEAD") == PIN
    assert git(repo.path, "diff", "--cached", "--name-only") == "notes.txt"


def test_a_committed_bad_pin_is_an_error_naming_the_file_and_line(tmp_path: Path) -> None:
    repo = ConfigRepo(work_tree(tmp_path / "d", {PIN: "repository: r.example/x\ntag: latest\ndigest: x\n"}))
    with pytest.raises(
        PinError, match=r"^envs/sit/order-service/pin.yaml:2: tag: 'latest' is not an immutable"
    ):
        repo.read_pin("sit", "order-service")


def test_values_files_layer_environment_then_service(tmp_path: Path) -> None:
    repo = ConfigRepo(
        work_tree(
            tmp_path / "d",
            {
                "envs/qa/values.yaml": "domain: qa.shop.test\n",
                "envs/qa/order-service/values.yaml": "replicas: 3\nenv: {LOG_LEVEL: debug}\n",
                "envs/qa/auth-service/values.yaml": "# nothing yet\n",
            },
        )
    )
    assert repo.values_files("qa", "order-service") == [
        ValuesFile("envs/qa/values.yaml", {"domain": "qa.shop.test"}),
        ValuesFile("envs/qa/order-service/values.yaml", {"replicas": 3, "env": {"LOG_LEVEL": "debug"}}),
    ]
    assert repo.values_files("qa", "auth-service")[1] == ValuesFile("envs/qa/auth-service/values.yaml", {})
    assert repo.values_files("prod", "order-service") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("replicas: [3\n", r"^envs/sit/x/values.yaml:2: not valid YAML"),
        ("- 1\n- 2\n", r"^envs/sit/x/values.yaml: must be a mapping of values$"),
    ],
)
def test_bad_values_files_are_named(tmp_path: Path, text: str, expected: str) -> None:
    repo = ConfigRepo(work_tree(tmp_path / "d", {"envs/sit/x/values.yaml": text}))
    with pytest.raises(ConfigRepoError, match=expected):
        repo.values_files("sit", "x")


def test_history_lists_the_services_commits_newest_first(repo: ConfigRepo) -> None:
    one = repo.write_pin("sit", "order-service", pin(n=1), "one", "Alice <a@example.com>")
    repo.write_pin("sit", "auth-service", pin(n=5), "other service", "bob")
    repo.write_pin("qa", "order-service", pin(n=1), "other env", "bob")
    three = repo.write_pin("sit", "order-service", pin(n=3), "three", "bob")
    history = repo.history("sit", "order-service")
    assert [(h.sha, h.subject, h.author, h.files) for h in history] == [
        (three, "three", "bob", (PIN,)),
        (one, "one", "Alice", (PIN,)),
    ]
    assert history[1].email == "a@example.com" and history[1].time.startswith("20")
    assert repo.history("sit", "order-service", limit=1) == history[:1]
    assert isinstance(history[0], HistoryEntry)
    assert repo.history("prod", "order-service") == []


def test_value_directories_come_from_the_platform(tmp_path: Path) -> None:
    deploy = work_tree(tmp_path / "deploy")
    text = "configRepo: deploy\nenvironments:\n  - name: sit\n    valuesDir: clusters/test\n"
    repo = ConfigRepo.for_platform(parse_platform(text, tmp_path))
    assert repo.path == deploy.resolve()
    repo.write_pin("sit", "order-service", pin(), "m", "alice")
    assert (deploy / "clusters/test/order-service/pin.yaml").is_file()
    with pytest.raises(ConfigRepoError, match=r"unknown environment 'qa' \(known: sit\)"):
        repo.read_pin("qa", "order-service")


def test_a_platform_without_config_repo_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigRepoError, match=r"ferry\.yaml has no configRepo"):
        ConfigRepo.for_platform(parse_platform("app: a\n", tmp_path))


def test_paths_that_are_not_a_repository_root_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigRepoError, match=r"does not exist \(ferry init creates one\)"):
        ConfigRepo(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ConfigRepoError, match="is not a git repository"):
        ConfigRepo(tmp_path / "plain")
    app = work_tree(tmp_path / "app", {"deploy/README.md": "x\n"})
    with pytest.raises(ConfigRepoError, match=r"is inside the git repository .*app, not the root of its own"):
        ConfigRepo(app / "deploy")


def test_a_repository_without_commits_reads_empty_and_takes_a_first_pin(tmp_path: Path) -> None:
    (tmp_path / "new").mkdir()
    git(tmp_path / "new", "init", "--quiet")
    repo = ConfigRepo(tmp_path / "new")
    assert repo.head() is None
    assert (repo.read_pin("sit", "x"), repo.values_files("sit", "x"), repo.history("sit", "x")) == (
        None,
        [],
        [],
    )
    sha = repo.write_pin("sit", "x", pin(), "first", "alice")
    assert sha == repo.head() and repo.read_pin("sit", "x") == pin()


def test_changes_name_the_apps_a_commit_range_touched(tmp_path: Path) -> None:
    repo = ConfigRepo(work_tree(tmp_path / "d", {"README.md": "x\n", "envs/qa/values.yaml": "a: 1\n"}))
    start = repo.head()
    assert repo.changes(None) == {("qa", None)}  # never synced: everything there is
    repo.write_pin("sit", "order-service", pin(), "one", "alice")
    repo.write_pin("qa", "auth-service", pin(), "two", "alice")
    assert repo.changes(start) == {("sit", "order-service"), ("qa", "auth-service")}
    (repo.path / "envs/qa/values.yaml").write_text("a: 2\n")
    (repo.path / "README.md").write_text("y\n")
    git(repo.path, "commit", "--quiet", "-am", "qa-wide values and the readme")
    assert repo.changes("HEAD~1") == {("qa", None)}  # the README is nobody's app


def test_changes_follow_the_platform_value_directories(tmp_path: Path) -> None:
    work_tree(tmp_path / "deploy")
    text = "configRepo: deploy\nenvironments:\n  - name: sit\n    valuesDir: clusters/test\n"
    repo = ConfigRepo.for_platform(parse_platform(text, tmp_path))
    start = repo.head()
    repo.write_pin("sit", "order-service", pin(), "m", "alice")
    assert repo.changes(start) == {("sit", "order-service")}
