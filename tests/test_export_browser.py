"""The export form in a real browser (Chromium, against `ventwatch run`): while a PDF is made
the buttons are disabled and the form says "Preparing the PDF…"; the file then downloads
under the server's name; a refusal is shown in the form, in the server's words."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.test_browser import Dashboard, browser, dashboard, signed_in

__all__ = ["browser", "dashboard"]  # the fixtures, shared with the other browser tests

# Every text the export's status line shows, with whether the buttons were disabled then:
# recorded as it changes, so a state that lasts a moment is seen all the same.
WATCH = """() => {
  window.seen = [];
  const form = document.querySelector("form[data-export]");
  const status = form.querySelector("[data-field=export-status]");
  new MutationObserver(() => window.seen.push([
    status.textContent,
    [...form.querySelectorAll("button")].every((b) => b.disabled),
  ])).observe(status, {childList: true, characterData: true, subtree: true});
}"""


def test_a_pdf_download_says_it_is_being_prepared(browser: Browser, dashboard: Dashboard) -> None:
    page = signed_in(browser, dashboard, "rep", accept_downloads=True)
    page.get_by_text("Export a report").click()
    week = page.get_by_label("Week")
    expect(week).to_be_visible()
    chosen = week.input_value()
    assert chosen  # a week with readings is preselected
    page.get_by_label("Format").select_option("pdf")
    page.evaluate(WATCH)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == f"ventilation-Browser-Academy-{chosen}.pdf"
    path = download.value.path()
    assert path.read_bytes().startswith(b"%PDF")
    status = page.locator("[data-field=export-status]")
    expect(status).to_have_text(f"Downloaded ventilation-Browser-Academy-{chosen}.pdf.")
    seen = page.evaluate("window.seen")
    assert seen[0] == ["Preparing the PDF…", True], seen
    assert seen[-1][1] is False  # the buttons are back
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_evidence_pack_uses_the_same_week(browser: Browser, dashboard: Dashboard) -> None:
    page = signed_in(browser, dashboard, "rep", accept_downloads=True)
    page.get_by_text("Export a report").click()
    chosen = page.get_by_label("Week").input_value()
    page.evaluate(WATCH)
    with page.expect_download() as download:
        page.get_by_role("button", name="Evidence pack (ZIP with checksums)").click()
    assert download.value.suggested_filename == f"evidence-Browser-Academy-{chosen}.zip"
    assert page.evaluate("window.seen")[0] == ["Preparing the evidence pack…", True]


def test_without_javascript_the_form_downloads_as_before(
    browser: Browser, dashboard: Dashboard
) -> None:
    page = signed_in(browser, dashboard, "staff", accept_downloads=True, java_script_enabled=False)
    page.get_by_text("Export a report").click()
    page.get_by_label("Format").select_option("csv")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename.endswith(".csv")
    assert b"room" in download.value.path().read_bytes()
