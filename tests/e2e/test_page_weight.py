"""Page weight in Chromium: what a first visit transfers, and what a second one takes from cache.

The bytes are Chromium's own count of what crossed the network (the DevTools protocol's
`Network.loadingFinished` encodedDataLength: headers plus the body as sent, compressed or not).
The context is opened here rather than through `browsing`, because a Playwright route (the axe
script's) turns the browser's HTTP cache off, and the cache is what the second visit measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests import factories

FIRST_VISIT_LIMIT = 250 * 1024


@dataclass
class Traffic:
    """Every request of a page's loads, as the DevTools protocol reports it."""

    urls: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    from_cache: set[str] = field(default_factory=set)
    revalidated: set[str] = field(default_factory=set)
    sizes: dict[str, int] = field(default_factory=dict)

    def listen(self, cdp) -> None:  # type: ignore[no-untyped-def]
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", lambda e: self.from_cache.add(e["requestId"]))
        cdp.on("Network.responseReceived", self._received)
        # The status on the wire: a revalidated file is reported above with its cached 200.
        cdp.on("Network.responseReceivedExtraInfo", self._received_on_the_wire)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event) -> None:  # type: ignore[no-untyped-def]
        self.urls[event["requestId"]] = event["request"]["url"]

    def _received(self, event) -> None:  # type: ignore[no-untyped-def]
        response = event["response"]
        self.statuses[event["requestId"]] = response["status"]
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self.from_cache.add(event["requestId"])

    def _received_on_the_wire(self, event) -> None:  # type: ignore[no-untyped-def]
        if event["statusCode"] == 304:
            self.revalidated.add(event["requestId"])

    def status(self, rid: str) -> int | str:
        return 304 if rid in self.revalidated else self.statuses.get(rid, "-")

    def _finished(self, event) -> None:  # type: ignore[no-untyped-def]
        self.sizes[event["requestId"]] = int(event["encodedDataLength"])

    def total(self) -> int:
        return sum(self.sizes.values())

    def table(self) -> str:
        rows = sorted(self.urls.items(), key=lambda item: -self.sizes.get(item[0], 0))
        return "\n".join(
            f"  {self.sizes.get(rid, 0):>8} B  {self.status(rid)}  "
            f"{'cache ' if rid in self.from_cache else ''}{url}"
            for rid, url in rows
        )


def watch(context, page) -> Traffic:  # type: ignore[no-untyped-def]
    """Record ``page``'s network traffic from now on."""
    traffic = Traffic()
    cdp = context.new_cdp_session(page)
    traffic.listen(cdp)
    cdp.send("Network.enable")
    return traffic


def visit(page, url: str) -> None:  # type: ignore[no-untyped-def]
    """Load ``url`` and wait for the page and its web fonts."""
    page.goto(url)
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")


def test_first_visit_is_light_and_a_second_visit_uses_the_cache(browser, live_server):
    user = live_server.office.supervisor
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # an empty cache
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        traffic = watch(context, page)
        visit(page, live_server.url + "/login")
        page.fill("#email", user.email)
        page.fill("#password", factories.PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url.endswith("/my-work"), page.url
        page.wait_for_load_state("load")
        page.evaluate("document.fonts.ready.then(() => true)")
        first = traffic.total()
        print(f"\nFirst visit (sign in, then My work): {first} bytes ({first / 1024:.0f} KB)")
        print(traffic.table())
        failed = {traffic.urls[rid]: s for rid, s in traffic.statuses.items() if s >= 400}
        assert not failed, f"requests failed: {failed}"
        assert first <= FIRST_VISIT_LIMIT, f"first visit transferred {first} bytes"

        # A new tab, so the files come from the HTTP cache rather than the page's memory.
        again = context.new_page()
        traffic = watch(context, again)
        visit(again, live_server.url + "/my-work")
        second = traffic.total()
        print(f"Second visit (My work in a new tab): {second} bytes ({second / 1024:.0f} KB)")
        print(traffic.table())
        static = {rid: url for rid, url in traffic.urls.items() if "/static/" in url}
        assert static, "the second visit loaded no static file at all"
        fetched = [
            url
            for rid, url in static.items()
            if rid not in traffic.from_cache and traffic.status(rid) != 304
        ]
        assert not fetched, f"static files downloaded again: {fetched}"
        revalidated = [
            url for rid, url in static.items() if "?v=" in url and rid not in traffic.from_cache
        ]
        assert not revalidated, f"hashed files asked for again: {revalidated}"
    finally:
        context.close()
