// The order page while the license is on its way: ask the server every
// data-poll-seconds whether it has arrived, and reload the page when it has,
// so the customer sees it within a second. Without JavaScript the page's
// <noscript> refresh reloads it every few seconds instead.
(function () {
  "use strict";
  const page = document.querySelector("[data-status-url]");
  if (!page || !window.fetch) return;
  const url = page.dataset.statusUrl;
  const every = 1000 * (Number(page.dataset.pollSeconds) || 1);
  // After ten minutes, ask every 15 s: the seller may be fixing their server.
  const slowAfter = Date.now() + 10 * 60 * 1000;

  async function ask() {
    try {
      const answer = await fetch(url, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (answer.ok && !(await answer.json()).pending) {
        window.location.reload();
        return;
      }
    } catch (error) {
      // Offline for a moment: ask again later.
    }
    setTimeout(ask, Date.now() > slowAfter ? 15000 : every);
  }
  setTimeout(ask, every);
})();
