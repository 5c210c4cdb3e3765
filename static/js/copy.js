// "Copy" buttons for the code blocks marked [data-copy] (the Webhook Editor's
// verification examples). Progressive enhancement only: without JavaScript, or
// where the Clipboard API is unavailable (it needs https or localhost), the code
// stays selectable and no button appears.
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) return;

  function addButton(code) {
    // data-copy names what is copied, for screen readers ("Copy license.php").
    const what = code.dataset.copy || "code";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    function show(text) {
      button.textContent = text;
      button.setAttribute("aria-label", text + " " + what);
    }
    show("Copy");
    button.addEventListener("click", async function () {
      try {
        await navigator.clipboard.writeText(code.textContent);
        show("Copied");
      } catch (error) {
        show("Could not copy (select the text instead):");
      }
      setTimeout(function () {
        show("Copy");
      }, 2000);
    });
    // Before the <pre>, so the button is read before the code it copies.
    code.closest("pre").before(button);
  }

  document.querySelectorAll("pre > code[data-copy]").forEach(addButton);
})();
