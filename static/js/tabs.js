// Tabs for a [data-tabs] block (the Webhook Editor's examples, one per language).
// Progressive enhancement only: without JavaScript each [data-tab] child is a
// plain section under its own heading. With it, those headings become a tab list
// that follows the WAI-ARIA tabs pattern: Tab moves into the list and on to the
// open panel; Left/Right arrows, Home and End choose a tab.
(function () {
  "use strict";

  function enhance(container) {
    const panels = Array.from(container.querySelectorAll(":scope > [data-tab]"));
    if (panels.length < 2) return;
    const list = document.createElement("div");
    list.className = "tablist";
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", container.dataset.tabs);
    const tabs = panels.map(function (panel) {
      const tab = document.createElement("button");
      tab.type = "button";
      tab.id = panel.id + "-tab";
      tab.textContent = panel.dataset.tab;
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", panel.id);
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
      panel.tabIndex = 0;
      // The tab names the panel now; its heading would only repeat it.
      const heading = panel.querySelector("[data-tab-title]");
      if (heading) heading.hidden = true;
      list.appendChild(tab);
      return tab;
    });

    function select(index, focus) {
      tabs.forEach(function (tab, i) {
        const chosen = i === index;
        tab.setAttribute("aria-selected", String(chosen));
        tab.tabIndex = chosen ? 0 : -1;
        panels[i].hidden = !chosen;
      });
      if (focus) tabs[index].focus();
    }

    list.addEventListener("click", function (event) {
      const index = tabs.indexOf(event.target.closest("[role=tab]"));
      if (index >= 0) select(index, false);
    });
    list.addEventListener("keydown", function (event) {
      const current = tabs.indexOf(document.activeElement);
      const last = tabs.length - 1;
      const next = {
        ArrowRight: current === last ? 0 : current + 1,
        ArrowLeft: current === 0 ? last : current - 1,
        Home: 0,
        End: last,
      }[event.key];
      if (current < 0 || next === undefined) return;
      event.preventDefault();
      select(next, true);
    });
    container.prepend(list);
    select(0, false);
  }

  document.querySelectorAll("[data-tabs]").forEach(enhance);
})();
