"""Politeness and safety limits: per-host concurrency seen by the server, private addresses."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from common.urls import host_of
from crawler.resolver import private_without_dns
from tests.crawling import crawl, export
from tests.sites.faults import FaultSite
from tests.sites.faults_routes import PACE_STORIES


def most_in_flight(site: FaultSite, token: str) -> int:
    """The most requests the slow site served at once for a token."""
    with urllib.request.urlopen(f"{site.url}/pace/{token}/stats", timeout=10) as response:
        return int(json.load(response)["max_in_flight"])


@pytest.mark.parametrize(
    ("token", "per_domain", "source_concurrency"),
    [("one-per-domain", 1, None), ("source-option", 4, 1)],
)
def test_per_host_concurrency_is_honoured(
    fault_site: FaultSite, tmp_path: Path, token: str, per_domain: int,
    source_concurrency: int | None,
) -> None:
    start = f"{fault_site.url}/pace/{token}/"
    options = f"    options: {{concurrency: {source_concurrency}}}\n" if source_concurrency else ""
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - name: paced\n    start_urls: ['{start}']\n{options}",
                       encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'paced.db'}"
    crawl(db_url, "-s", f"NEWS_SOURCES_FILE={sources}",
          "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={per_domain}")
    assert len(export(db_url)) == PACE_STORIES
    assert most_in_flight(fault_site, token) == 1


@pytest.mark.parametrize(
    ("url", "private"),
    [
        ("http://127.0.0.1/", True), ("http://2130706433/", True), ("http://0x7f.1/", True),
        ("http://127.1/", True), ("http://0/", True), ("http://[::1]/", True),
        ("http://[::ffff:127.0.0.1]/", True), ("http://localhost./", True),
        ("http://news.localhost/", True), ("http://10.20.30.40/", True),
        ("http://192.168.1.1/", True), ("http://169.254.169.254/", True),
        ("http://[fe80::1]/", True), ("http://100.100.100.200/", True),
        ("http://224.0.0.1/", True),
        ("http://8.8.8.8/", False), ("http://93.184.216.34/", False),
        ("http://[2606:4700::1111]/", False),
    ],
)
def test_private_address_spellings(url: str, private: bool) -> None:
    assert private_without_dns(host_of(url)) is private
