"""`make demo`: serve the sample universe on loopback, crawl it into SQLite, print the stories."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DATABASE = REPO_ROOT / "data" / "demo.db"


def scrapy(*args: str) -> None:
    """Run a scrapy command of this project; stop the demo if it fails."""
    subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=REPO_ROOT, check=True)


def main() -> int:
    """Start the sites, crawl the aggregator and the gazette, print the stored stories."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.sites.server"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert server.stdout is not None
        urls = json.loads(server.stdout.readline())
        print("Sample sites:", ", ".join(f"{name} {url}" for name, url in urls.items()))
        DEMO_DATABASE.parent.mkdir(exist_ok=True)
        for stale in DEMO_DATABASE.parent.glob(f"{DEMO_DATABASE.name}*"):
            stale.unlink()
        database_url = f"sqlite:///{DEMO_DATABASE}"
        scrapy(
            "crawl", "news",
            "-a", f"start_urls={urls['vietnam']}/,{urls['gazette']}/",
            "-s", f"DATABASE_URL={database_url}",
            "-s", "ALLOW_PRIVATE_NETWORKS=True",
            "-s", "LOG_LEVEL=WARNING",
        )
        print(f"\nStories in {DEMO_DATABASE.relative_to(REPO_ROOT)}:\n")
        scrapy("stories", "-s", f"DATABASE_URL={database_url}")
        print("\nExport them with: .venv/bin/scrapy export -o stories.jsonl "
              f"-s DATABASE_URL={database_url}")
    except subprocess.CalledProcessError as exc:
        print(f"demo failed: {' '.join(exc.cmd[2:4])} exited with {exc.returncode}",
              file=sys.stderr)
        return 1
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
