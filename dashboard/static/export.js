// The export form (templates/_export.html): a week's PDF takes seconds to make, and a plain
// download shows nothing meanwhile, so people press again. Here the download is fetched
// while the buttons are disabled and the form says "Preparing the PDF…"; a refusal (too
// many exports, the printer busy) is shown in the form in the server's words. Without
// JavaScript the form is a plain GET that downloads as before.
"use strict";

(() => {
  const WORDS = {
    pdf: "Preparing the PDF…",
    html: "Preparing the HTML report…",
    xlsx: "Preparing the spreadsheet…",
    csv: "Preparing the CSV…",
    "daily-csv": "Preparing the CSV…",
  };

  // The file name the server gave (Content-Disposition), or a plain one.
  function fileName(response) {
    const header = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(header);
    return match ? match[1] : "report";
  }

  // The words of the dashboard's error page (its `detail` paragraph), or the status line.
  async function refusal(response) {
    const text = await response.text();
    const page = new DOMParser().parseFromString(text, "text/html");
    const detail = page.querySelector("[data-field=detail]");
    return detail ? detail.textContent.trim() : `The export failed (HTTP ${response.status}).`;
  }

  async function download(form, button) {
    const status = form.querySelector("[data-field=export-status]");
    const buttons = form.querySelectorAll("button");
    const action = button.getAttribute("formaction") || form.getAttribute("action");
    const query = new URLSearchParams(new FormData(form));
    status.textContent = button.dataset.preparing || WORDS[query.get("format")] || WORDS.pdf;
    form.setAttribute("aria-busy", "true");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await fetch(`${action}?${query}`, { credentials: "same-origin" });
      if (response.redirected) {  // signed out meanwhile: the login page, then back here
        window.location.assign(response.url);
        return;
      }
      if (!response.ok) {
        status.textContent = await refusal(response);
        return;
      }
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement("a");
      link.href = url;
      link.download = fileName(response);
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      status.textContent = `Downloaded ${link.download}.`;
    } catch (error) {
      status.textContent = "The export failed: the dashboard did not answer. Try again.";
    } finally {
      form.removeAttribute("aria-busy");
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  for (const form of document.querySelectorAll("form[data-export]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      download(form, event.submitter || form.querySelector("button"));
    });
  }
})();
