"""The web chat widget, end to end in headless Chromium (Debian's, driven by Playwright): the demo
page, programme questions, a referral with buttons and text, a reload mid-referral, submission,
accessibility (axe-core), and text always shown as text."""
from __future__ import annotations

import email
import email.policy
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator

import pytest

from bot import service_profile
from tests.support import MODEL, ROOT, Stack, free_port, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "bot" / "webchat" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.needs_model,
    pytest.mark.skipif(not MODEL.exists(), reason="needs the trained model: run `make train`"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Dict]:
    web_port = free_port()
    stack = Stack(tmp_path_factory.mktemp("webchat"), WEBCHAT_PORT=str(web_port),
                  WEBCHAT_ALLOWED_ORIGINS=f"http://127.0.0.1:{web_port}")
    stack.env["WEBCHAT_SOCKET_URL"] = f"http://127.0.0.1:{stack.rasa_port}"
    try:
        stack.start_assistant()
        stack.start("web", [sys.executable, "-m", "bot.webchat.serve"])
        wait_for(f"http://127.0.0.1:{web_port}/health")
        yield {"url": f"http://127.0.0.1:{web_port}/", "stack": stack, "rasa_port": stack.rasa_port}
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def bot_says(page, text: str, timeout: float = 30_000):
    page.locator(".cosp-msg--bot", has_text=text).last.wait_for(timeout=timeout)


def say(page, text: str, expect: str) -> None:
    page.fill("#cosp-webchat-input", text)
    page.press("#cosp-webchat-input", "Enter")
    bot_says(page, expect)


def tap(page, title: str, expect: str) -> None:
    page.locator(".cosp-buttons button:not([disabled])", has_text=title).last.click()
    bot_says(page, expect)


def open_widget(page) -> None:
    if page.get_attribute("#cosp-webchat-launcher", "aria-expanded") != "true":
        page.click("#cosp-webchat-launcher")
    page.wait_for_selector("#cosp-webchat-panel", state="visible")


def axe_serious(page) -> list:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_a_parent_asks_refers_reloads_and_submits(site, page):
    page.goto(site["url"])
    open_widget(page)
    assert page.evaluate("document.activeElement.id") == "cosp-webchat-input"
    bot_says(page, "Hello")
    say(page, "how many sessions are there", "6-8")
    say(page, "I'd like to make a referral", "Are you referring yourself, or a family you work with?")
    tap(page, "Myself or my family", "What's your name?")
    chosen = page.locator(".cosp-buttons").filter(has_text="Myself or my family").last
    assert chosen.locator("button[disabled]").count() == chosen.locator("button").count() == 2
    say(page, "Zofia Exampleńska", "relationship")
    tap(page, "Foster carer", "How old")

    page.reload()  # mid-referral: the conversation and the answered buttons are still there
    open_widget(page)
    page.locator(".cosp-msg--user", has_text="Zofia Exampleńska").wait_for()
    assert page.locator(".cosp-buttons button:not([disabled])", has_text="Foster carer").count() == 0
    say(page, "11 weeks", "what would you like help with")
    say(page, "<img src=x onerror=alert(1)> help with settling", "phone number")
    assert page.locator(".cosp-msg--user", has_text="<img src=x onerror=alert(1)>").count() == 1
    assert page.locator("#cosp-webchat-log img").count() == 0 and page.dialogs == []
    say(page, "07911 123456", "email address")
    tap(page, "Skip", "prefer the team")
    tap(page, "Phone call", "leave a message")
    tap(page, "Yes, that's fine", "postcode")
    say(page, "DN31 1HU", "additional sessions")
    tap(page, "No, thanks", "take part")
    tap(page, "No, none", "Do you agree")
    tap(page, "Yes, I agree", "Please check your answers")
    tap(page, "Send referral", "your referral has been sent")
    sent = page.locator(".cosp-msg--bot", has_text="Your reference is").last.inner_text()
    reference = sent.split("Your reference is ")[1][:10]
    link = page.locator(".cosp-msg--bot a[href^='tel:']").last
    assert link.get_attribute("href") == "tel:" + service_profile.current().phone.replace(" ", "")

    mail_dir = Path(site["stack"].tmp) / "mail"
    site["stack"].wait_until_delivered(reference)
    assert [p.name for p in mail_dir.glob("*.eml")] == [f"{reference}.eml"]
    body = email.message_from_bytes((mail_dir / f"{reference}.eml").read_bytes(), policy=email.policy.default)
    assert "Zofia Exampleńska" in body.get_body(("plain",)).get_content()

    stored = page.evaluate("Object.keys(localStorage)")
    assert stored == ["cosp-webchat-session"]
    assert len(page.evaluate("localStorage.getItem('cosp-webchat-session')")) == 32


def test_counter_limit_restart_and_keyboard(site, page):
    page.goto(site["url"])
    page.focus("#cosp-webchat-launcher")
    page.keyboard.press("Enter")
    page.wait_for_selector("#cosp-webchat-panel", state="visible")
    bot_says(page, "Hello")
    page.fill("#cosp-webchat-input", "x" * 2100)
    assert len(page.input_value("#cosp-webchat-input")) == 2000
    assert "2000" in page.inner_text("#cosp-webchat-counter").replace(",", "")
    page.fill("#cosp-webchat-input", "")
    first_session = page.evaluate("localStorage.getItem('cosp-webchat-session')")
    page.click("#cosp-webchat-restart")
    page.wait_for_function("localStorage.getItem('cosp-webchat-session') !== %r" % first_session)
    bot_says(page, "Hello")
    assert page.locator(".cosp-msg--user").count() == 0
    page.keyboard.press("Escape")
    page.wait_for_selector("#cosp-webchat-panel", state="hidden")
    assert page.evaluate("document.activeElement.id") == "cosp-webchat-launcher"


@pytest.mark.parametrize("width", [1280, 375])
def test_no_serious_accessibility_problems_open_or_closed(site, browser, width):
    ARTIFACTS.mkdir(exist_ok=True)
    # reduced motion: axe measures contrast, which a panel still fading in would fail
    context = browser.new_context(viewport={"width": width, "height": 800}, reduced_motion="reduce")
    page = context.new_page()
    try:
        page.goto(site["url"])
        page.wait_for_selector("#cosp-webchat-launcher")
        assert axe_serious(page) == []
        page.screenshot(path=str(ARTIFACTS / f"webchat-{width}-closed.png"))
        open_widget(page)
        bot_says(page, "Hello")
        assert axe_serious(page) == []
        page.screenshot(path=str(ARTIFACTS / f"webchat-{width}-open.png"))
    finally:
        context.close()


def test_only_the_configured_origins_may_connect(site):
    url = f"http://127.0.0.1:{site['rasa_port']}/socket.io/?EIO=4&transport=polling"

    def handshake(origin: str) -> int:
        try:
            return urllib.request.urlopen(urllib.request.Request(url, headers={"Origin": origin}), timeout=10).status
        except urllib.error.HTTPError as error:
            return error.code

    assert handshake(site["url"].rstrip("/")) == 200
    assert handshake("https://evil.example") == 400


def test_the_chat_channel_checks_session_ids_and_message_length(site, page):
    page.goto(site["url"])
    page.wait_for_function("typeof io === 'function'")
    seen = page.evaluate("""async (socketUrl) => {
        const seen = {rejected: [], confirmed: [], bot: []};
        const socket = io(socketUrl, {transports: ["websocket"], reconnection: false});
        socket.on("session_rejected", d => seen.rejected.push(d));
        socket.on("session_confirm", d => seen.confirmed.push(d));
        socket.on("bot_uttered", d => seen.bot.push(d.text || ""));
        const wait = ms => new Promise(r => setTimeout(r, ms));
        await new Promise(r => socket.on("connect", r));
        socket.emit("session_request", {session_id: "telegram:5001"});
        socket.emit("user_uttered", {message: "hello", session_id: "telegram:5001"});
        await wait(2000);
        seen.botBeforeSession = seen.bot.length;
        socket.emit("session_request", {session_id: "0123456789abcdef0123456789abcdef"});
        socket.emit("user_uttered", {message: "x".repeat(2001)});
        socket.emit("user_uttered", {message: "how long is each session"});
        for (let i = 0; i < 60 && !seen.bot.some(t => t.includes("2 hours")); i++) await wait(500);
        socket.close();
        return seen;
    }""", f"http://127.0.0.1:{site['rasa_port']}")
    assert seen["botBeforeSession"] == 0  # no valid session, no conversation: nobody posts as a Telegram chat
    assert seen["rejected"] and seen["confirmed"] == ["0123456789abcdef0123456789abcdef"]
    assert any("too long" in text for text in seen["bot"])
    assert any("2 hours" in text for text in seen["bot"])


def test_on_a_phone_the_full_screen_chat_keeps_focus_visible_and_escape_leaves(site, browser):
    context = browser.new_context(viewport={"width": 375, "height": 700})
    page = context.new_page()
    try:
        page.goto(site["url"])
        open_widget(page)
        bot_says(page, "Hello")
        inside = "document.getElementById('cosp-webchat-panel').contains(document.activeElement)"
        for _ in range(15):
            page.keyboard.press("Tab")
            assert page.evaluate(inside)
        for _ in range(15):
            page.keyboard.press("Shift+Tab")
            assert page.evaluate(inside)
        page.keyboard.press("Escape")
        page.wait_for_selector("#cosp-webchat-panel", state="hidden")
        assert page.evaluate("document.activeElement.id") == "cosp-webchat-launcher"
    finally:
        context.close()


def test_the_conversation_survives_the_chat_server_dropping_the_connection(site, page):
    stack = site["stack"]
    page.goto(site["url"])
    open_widget(page)
    bot_says(page, "Hello")
    say(page, "I'd like to make a referral", "Are you referring yourself, or a family you work with?")
    tap(page, "Myself or my family", "What's your name?")
    rasa = stack.procs["rasa"]
    rasa.terminate()
    rasa.wait(timeout=30)
    page.locator("text=Reconnecting").first.wait_for(timeout=30_000)
    assert "call 999" in page.locator("text=Reconnecting").first.inner_text()
    stack.start("rasa", rasa.args)
    wait_for(f"http://127.0.0.1:{stack.rasa_port}/", 180)
    say(page, "Sam Taylor", "relationship")  # same conversation, the next question
