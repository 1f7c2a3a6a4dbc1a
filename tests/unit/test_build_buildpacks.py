"""Buildpack detection, entrypoint inference, and the Python and Node.js images (layers, env, labels)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ferry.build import BuildError, build_image
from ferry.build.buildpacks import detect

from .build_support import config_of, make_wheel, request, tar_file, tar_members, write_tree


@pytest.mark.parametrize(
    ("files", "kind"),
    [
        ({"requirements.txt": ""}, "python"),
        ({"pyproject.toml": ""}, "python"),
        ({"main.py": ""}, "python"),
        ({"package.json": "{}"}, "node"),
        ({"package.json": "{}", "app.py": "", "ferry.toml": 'buildpack = "python"\n'}, "python"),
    ],
)
def test_detect(tmp_path: Path, files: dict[str, str], kind: str) -> None:
    assert detect(write_tree(tmp_path, files)) == kind


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"README.md": ""}, "nothing to build in"),
        ({"package.json": "{}", "requirements.txt": ""}, "both requirements.txt and package.json found"),
        ({"app.py": "", "ferry.toml": 'buildpack = "go"\n'}, "ferry.toml: buildpack = 'go' is unknown"),
        ({"app.py": "", "ferry.toml": "buildpack = \n"}, "ferry.toml: invalid TOML"),
    ],
)
def test_detect_errors(tmp_path: Path, files: dict[str, str], message: str) -> None:
    with pytest.raises(BuildError, match=message):
        detect(write_tree(tmp_path, files))


@pytest.mark.parametrize(
    ("files", "entrypoint"),
    [
        ({"app.py": ""}, ["python3", "app.py"]),
        ({"main.py": ""}, ["python3", "main.py"]),
        ({"app.py": "", "ferry.toml": 'entrypoint = "gunicorn app:app -b 0.0.0.0:8000"\n'},
         ["gunicorn", "app:app", "-b", "0.0.0.0:8000"]),
        ({"pyproject.toml": '[project]\nname = "x"\n[project.scripts]\nserve = "shop.cli:main"\n'},
         ["python3", "-c", "import sys; from shop.cli import main; sys.exit(main())"]),
        ({"pyproject.toml": '[project]\nname = "x"\n[tool.ferry]\nentrypoint = ["python3", "-m", "shop"]\n'},
         ["python3", "-m", "shop"]),
    ],
)  # fmt: skip
async def test_python_entrypoint(tmp_path: Path, files: dict[str, str], entrypoint: list[str]) -> None:
    image = await build_image(request(write_tree(tmp_path, files)))
    assert config_of(image)["config"]["Entrypoint"] == entrypoint


async def test_python_without_an_entrypoint_says_how_to_declare_one(tmp_path: Path) -> None:
    write_tree(tmp_path, {"requirements.txt": "", "worker.py": ""})
    with pytest.raises(BuildError, match=r"cannot infer how to start .*entrypoint = "):
        await build_image(request(tmp_path))


async def test_python_image_layers_env_and_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheels = make_wheel(tmp_path / "wheels").parent
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    ctx = write_tree(
        tmp_path / "svc",
        {
            "pyproject.toml": '[project]\nname = "svc"\ndependencies = ["tinypkg"]\n',
            "app.py": "",
            "src/svc/__init__.py": "",
            ".venv/bin/python": "",
        },
    )
    image = await build_image(request(ctx))
    assert image.base == "host:python3.11"
    config = config_of(image)
    env = dict(e.split("=", 1) for e in config["config"]["Env"])
    assert env["PYTHONPATH"] == "/app:/app/src:/app/.deps"
    assert env["PATH"].startswith("/app/.deps/bin:")
    assert config["config"]["WorkingDir"] == "/app"
    labels = config["config"]["Labels"]
    assert labels["dev.ferry.image.base"] == "host"
    assert labels["dev.ferry.image.runtime"] == "python3.11"
    deps, app = image.manifest.layers
    deps_files = tar_members(image.blobs[deps.digest])
    assert "app/.deps/tinypkg/__init__.py" in deps_files
    assert not [n for n in deps_files if n.endswith((".pyc", "direct_url.json"))]
    script = tar_file(image.blobs[deps.digest], "app/.deps/bin/tinypkg-hello")
    assert script.startswith(b"#!/usr/bin/env python3\n")  # not the build machine's interpreter
    record = tar_file(image.blobs[deps.digest], "app/.deps/tinypkg-1.0.dist-info/RECORD").decode()
    assert f",{len(script)}\n" in next(ln + "\n" for ln in record.splitlines() if "bin/tinypkg-hello" in ln)
    app_files = tar_members(image.blobs[app.digest])
    assert {"app/app.py", "app/src/svc/__init__.py"} <= set(app_files)
    assert not [n for n in app_files if n.startswith("app/.venv")]


async def test_pip_failure_is_one_line_naming_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    write_tree(tmp_path / "svc", {"requirements.txt": "no-such-package-xyz==1\n", "app.py": ""})
    with pytest.raises(BuildError) as exc:
        await build_image(request(tmp_path / "svc"))
    message = str(exc.value)
    assert message.startswith("pip install failed (exit 1): ")
    assert "\n" not in message and "no-such-package-xyz" in message


async def test_node_without_dependencies_has_only_an_app_layer(tmp_path: Path) -> None:
    pkg = {"name": "web", "version": "1.0.0", "scripts": {"start": "node server.js --port 3000"}}
    ctx = write_tree(
        tmp_path, {"package.json": json.dumps(pkg), "server.js": "", "node_modules/junk/x.js": ""}
    )
    image = await build_image(request(ctx))
    assert image.base.startswith("host:node")
    config = config_of(image)["config"]
    assert config["Entrypoint"] == ["node", "server.js", "--port", "3000"]
    assert "NODE_ENV=production" in config["Env"]
    assert len(image.manifest.layers) == 1
    files = tar_members(image.blobs[image.manifest.layers[0].digest])
    assert "app/server.js" in files and "app/node_modules" not in files


@pytest.mark.parametrize(
    ("pkg", "files", "entrypoint"),
    [
        ({"main": "lib/index.js"}, {}, ["node", "lib/index.js"]),
        ({"scripts": {"start": "node a.js && node b.js"}}, {"index.js": ""}, ["node", "index.js"]),
        ({"ferry": {"entrypoint": ["node", "--enable-source-maps", "x.js"]}}, {}, ["node", "--enable-source-maps", "x.js"]),
    ],
)  # fmt: skip
async def test_node_entrypoint(
    tmp_path: Path, pkg: dict[str, object], files: dict[str, str], entrypoint: list[str]
) -> None:
    write_tree(tmp_path, {"package.json": json.dumps({"name": "w", **pkg}), **files})
    image = await build_image(request(tmp_path))
    assert config_of(image)["config"]["Entrypoint"] == entrypoint


async def test_node_dependencies_need_a_lock_file(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"package.json": json.dumps({"name": "w", "main": "a.js", "dependencies": {"x": "1"}})}
    )
    with pytest.raises(
        BuildError, match=r"package\.json: package\.json has dependencies but no package-lock\.json"
    ):
        await build_image(request(tmp_path))


def _node_service(root: Path) -> Path:
    write_tree(
        root,
        {
            "vendor/greet/package.json": json.dumps({"name": "greet", "version": "0.1.0", "main": "index.js"}),
            "vendor/greet/index.js": "module.exports = () => 'hi';\n",
            "package.json": json.dumps({"name": "web", "version": "1.0.0", "main": "server.js", "dependencies": {"greet": "file:vendor/greet"}}),
            "server.js": "console.log(require('greet')());\n",
        },
    )  # fmt: skip
    subprocess.run(
        ["npm", "install", "--package-lock-only", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip
    return root


async def test_node_dependencies_are_installed_with_npm_ci_into_their_own_cached_layer(
    tmp_path: Path,
) -> None:
    ctx = _node_service(tmp_path / "web")
    image = await build_image(request(ctx, cache_dir=tmp_path / "cache"))
    deps, app = image.manifest.layers
    modules = tar_members(image.blobs[deps.digest])
    assert modules["app/node_modules/greet"].issym()
    assert modules["app/node_modules/greet"].linkname == "../vendor/greet"
    assert "app/vendor/greet/index.js" in tar_members(image.blobs[app.digest])
    again = await build_image(request(ctx, cache_dir=tmp_path / "cache"))
    assert again.digest == image.digest
    assert isinstance(again.blobs[deps.digest], Path)
