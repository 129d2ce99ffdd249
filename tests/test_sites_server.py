"""Tests of the sample-sites server: hosts, templating, routing, validators and its log."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.sites.server import LAST_MODIFIED, SampleSites

SEED_PATH = (
    "/lao-cai-phat-huy-vai-tro-cua-cong-doan-trong-xay-dung-dang-xay-dung-chinh-quyen"
    "-post1045123.html"
)
ORIGINAL_PATH = (
    "/lao-cai-phat-huy-vai-tro-cua-cong-doan-trong-xay-dung-dang-xay-dung-chinh-quyen-10287654.html"
)
LOG_LINE_RE = re.compile(
    r"^REQ (?P<site>[a-z0-9_-]+) (?P<method>[A-Z]+|-) (?P<path>\S+) (?P<status>\d{3})$"
)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET ``url``; return status, headers (lower-cased names) and body, errors included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers.items()), error.read()


def _lower(items: list[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def wait_for_log(sites: SampleSites, needle: str, timeout: float = 5.0) -> list[str]:
    """Return the log lines once one contains ``needle`` (the server flushes per line)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = sites.log_path.read_text(encoding="utf-8").splitlines()
        if any(needle in line for line in lines) or time.monotonic() > deadline:
            return lines


def test_json_line_names_three_distinct_hosts(sample_sites: SampleSites) -> None:
    urls = sample_sites.urls
    assert list(urls) == sorted(urls)
    assert set(urls) >= {"vietnam", "daidoanket", "gazette"}
    hosts = {name: urlsplit(url).hostname for name, url in urls.items()}
    assert hosts["vietnam"] == "127.0.0.2"
    assert hosts["daidoanket"] == "127.0.0.3"
    assert hosts["gazette"] == "127.0.0.4"
    assert len(set(hosts.values())) == len(hosts)
    assert all(not url.endswith("/") for url in urls.values())


def test_seed_page_links_to_templated_original(sample_sites: SampleSites) -> None:
    status, headers, body = fetch(sample_sites.urls["vietnam"] + SEED_PATH)
    html = body.decode("utf-8")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert f'href="{sample_sites.urls["daidoanket"]}{ORIGINAL_PATH}"' in html
    assert f'href="{sample_sites.urls["vietnam"]}{SEED_PATH}"' in html  # canonical
    assert "{{site:" not in html
    status, _, original = fetch(sample_sites.urls["daidoanket"] + ORIGINAL_PATH)
    assert status == 200
    assert "Báo Đại đoàn kết" in original.decode("utf-8")


def test_robots_lists_absolute_sitemap(sample_sites: SampleSites) -> None:
    base = sample_sites.urls["vietnam"]
    status, headers, body = fetch(base + "/robots.txt")
    assert status == 200
    assert headers["content-type"] == "text/plain; charset=utf-8"
    text = body.decode("utf-8")
    assert f"Sitemap: {base}/sitemap.xml" in text.splitlines()
    assert "Disallow: /private/" in text


def test_tracking_query_serves_same_body(sample_sites: SampleSites) -> None:
    base = sample_sites.urls["vietnam"]
    _, _, clean = fetch(base + SEED_PATH)
    status, _, tracked = fetch(base + SEED_PATH + "?utm_source=rss&utm_medium=feed")
    assert status == 200
    assert tracked == clean


def test_page_two_serves_pagination(sample_sites: SampleSites) -> None:
    base = sample_sites.urls["vietnam"]
    _, _, first = fetch(base + "/destinations/lao-cai/")
    status, _, second = fetch(base + "/destinations/lao-cai/?page=2")
    assert status == 200
    assert second != first
    assert "Trang 2" in second.decode("utf-8")
    _, _, missing_page = fetch(base + "/destinations/lao-cai/?page=9")
    assert missing_page == first


def test_search_path_serves_results_page(sample_sites: SampleSites) -> None:
    status, _, body = fetch(sample_sites.urls["vietnam"] + "/search?q=lao+cai")
    assert status == 200
    assert "Kết quả tìm kiếm" in body.decode("utf-8")


@pytest.mark.parametrize(
    ("site", "path", "content_type"),
    [
        ("vietnam", "/rss.xml", "application/rss+xml"),
        ("vietnam", "/sitemap.xml", "application/xml"),
        ("gazette", "/atom.xml", "application/atom+xml"),
    ],
)
def test_feed_content_types(
    sample_sites: SampleSites, site: str, path: str, content_type: str
) -> None:
    status, headers, _ = fetch(sample_sites.urls[site] + path)
    assert status == 200
    assert headers["content-type"] == content_type


def test_head_sends_headers_only(sample_sites: SampleSites) -> None:
    request = urllib.request.Request(sample_sites.urls["gazette"] + "/", method="HEAD")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert int(response.headers["Content-Length"]) > 0
        assert response.read() == b""


def test_missing_file_is_404(sample_sites: SampleSites) -> None:
    status, headers, body = fetch(sample_sites.urls["gazette"] + "/no/such/page.html")
    assert status == 404
    assert headers["content-type"].startswith("text/html")
    assert b"404" in body


def test_path_traversal_is_404(sample_sites: SampleSites) -> None:
    status, _, _ = fetch(sample_sites.urls["gazette"] + "/../vietnam/robots.txt")
    assert status == 404


def test_conditional_requests_get_304(sample_sites: SampleSites) -> None:
    url = sample_sites.urls["gazette"] + "/"
    status, headers, _ = fetch(url)
    assert status == 200
    assert headers["last-modified"] == LAST_MODIFIED
    etag = headers["etag"]
    assert fetch(url, {"If-None-Match": etag})[0] == 304
    assert fetch(url, {"If-None-Match": '"other"'})[0] == 200
    assert fetch(url, {"If-Modified-Since": LAST_MODIFIED})[0] == 304
    assert fetch(url, {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})[0] == 200


def test_etag_depends_on_rendered_body(sample_sites: SampleSites) -> None:
    vietnam = fetch(sample_sites.urls["vietnam"] + "/robots.txt")[1]["etag"]
    again = fetch(sample_sites.urls["vietnam"] + "/robots.txt")[1]["etag"]
    gazette = fetch(sample_sites.urls["gazette"] + "/robots.txt")[1]["etag"]
    assert vietnam == again
    assert vietnam != gazette


def test_request_log_line_format(sample_sites: SampleSites) -> None:
    marker = "/log-probe.html?probe=1"
    fetch(sample_sites.urls["daidoanket"] + marker)
    lines = wait_for_log(sample_sites, marker)
    req_lines = [line for line in lines if line.startswith("REQ ")]
    assert req_lines
    assert all(LOG_LINE_RE.match(line) for line in req_lines)
    assert f"REQ daidoanket GET {marker} 404" in lines


def test_server_prints_sorted_json_and_exits_cleanly() -> None:
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sites.server"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    urls = json.loads(line)
    assert line.strip() == json.dumps(urls, sort_keys=True)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in stderr
