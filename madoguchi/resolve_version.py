"""Child process of the service: resolve a registry alias and make the version's files local.

Runs the MLflow client in its own process so the serving process never pays
for importing it (see `madoguchi.served_model`). Prints one JSON object
{name, version, run_id, path}; exits with 3 when the alias names no version.
Versions are immutable, so a download is kept under the cache folder, keyed
by the model's storage location, and reused on the next start.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

from madoguchi.served_model import NOT_FOUND_EXIT, local_path


def local_copy(download_uri: str, cache_dir: Path) -> Path:
    """The version's folder on local disk: the store's own folder when it is local, else a cached download."""
    local = local_path(download_uri)
    if local is not None:
        return local
    import mlflow

    target = cache_dir / hashlib.sha256(download_uri.encode()).hexdigest()[:24]
    if (target / "MLmodel").is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".download-"))
    try:
        downloaded = Path(mlflow.artifacts.download_artifacts(artifact_uri=download_uri, dst_path=str(staging)))
        with contextlib.suppress(OSError):  # OSError: another process finished first
            downloaded.rename(target)  # atomic: a half-finished download is never used
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m madoguchi.resolve_version")
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--cache-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_registry_uri(args.tracking_uri)
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(args.name, args.alias)
    except MlflowException:
        print(f"no model version of {args.name!r} has the alias @{args.alias} in {args.tracking_uri}; "
              "run `madoguchi train` first")
        return NOT_FOUND_EXIT
    path = local_copy(client.get_model_version_download_uri(args.name, version.version), args.cache_dir)
    print(json.dumps({"name": args.name, "version": str(version.version), "run_id": version.run_id,
                      "path": str(path)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
