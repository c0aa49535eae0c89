// A deep dive's or dip sample's progress, kept up to date in place while its run is waiting or running: the page
// is read again every few seconds and its progress section replaced. The status line is the page's one live region
// (role="status"), so a screen reader hears each change of state once; nothing reloads and the focus never moves
// (WCAG 2.2.1: no page refreshes itself). Without JavaScript the page's "Refresh the progress" link does the same.
const EVERY_MS = 3000;
const FOR_AT_MOST_MS = 10 * 60 * 1000; // then stop, so an open page does not keep a session alive for ever
const section = document.querySelector("[data-progress]");
const started = Date.now();

async function refresh() {
  let next;
  try {
    const response = await fetch(window.location.href, { cache: "no-store", credentials: "same-origin" });
    if (!response.ok || response.redirected) return; // signed out, say: the Refresh link shows why
    next = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("[data-progress]");
  } catch {
    next = null; // offline for a moment: try again at the next turn
  }
  if (next) {
    const status = section.querySelector("[data-progress-status]");
    const nextStatus = next.querySelector("[data-progress-status]");
    if (status.textContent.trim() !== nextStatus.textContent.trim()) status.innerHTML = nextStatus.innerHTML;
    section.querySelector("[data-progress-detail]").replaceWith(next.querySelector("[data-progress-detail]"));
    section.dataset.progress = next.dataset.progress;
  }
  if (["waiting", "running"].includes(section.dataset.progress) && Date.now() - started < FOR_AT_MOST_MS) {
    window.setTimeout(refresh, EVERY_MS);
  }
}

if (section) window.setTimeout(refresh, EVERY_MS);
