// The Webhook Editor without page reloads, and its Custom Fields showing only the
// inputs a row uses. Progressive enhancement only: every control here is a plain
// form that works with JavaScript off.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function csrfToken(form) {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // "Send test request": post the form, show the result fragment in place.
  const testForm = document.querySelector("form[data-test-request]");
  const result = document.getElementById("test-result");
  if (testForm && result) {
    testForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      const button = testForm.querySelector("button[type=submit]");
      const label = button.textContent;
      button.disabled = true;
      button.textContent = "Sending…";
      result.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(testForm.action, {
          method: "POST",
          body: new FormData(testForm),
          headers: { "X-Requested-With": "fetch" },
          credentials: "same-origin",
        });
        if (!response.ok) {
          throw new Error("the server answered " + response.status);
        }
        result.innerHTML = await response.text();
        const summary = result.querySelector("[data-replace]");
        const old = summary && document.getElementById(summary.dataset.replace);
        if (old) {
          const copy = summary.cloneNode(true);
          copy.id = old.id;
          old.replaceWith(copy);
        }
        const heading = result.querySelector("[tabindex='-1']");
        if (heading) heading.focus();
      } catch (error) {
        result.innerHTML = "";
        const message = document.createElement("p");
        message.className = "message error";
        message.textContent =
          "Could not send the test request (" + error.message + "). Reload the page and try again.";
        result.appendChild(message);
      } finally {
        button.disabled = false;
        button.textContent = label;
        result.removeAttribute("aria-busy");
      }
    });
  }

  // Instructions: a live preview rendered by the server, with the email's renderer.
  const textarea = document.querySelector("textarea[name=instructions]");
  const preview = document.getElementById("instructions-preview");
  if (textarea && preview && preview.dataset.url) {
    let timer = null;
    let latest = 0;
    async function render() {
      const request = ++latest;
      const body = new FormData();
      body.append("instructions", textarea.value);
      body.append("csrfmiddlewaretoken", csrfToken(textarea.form));
      try {
        const response = await fetch(preview.dataset.url, {
          method: "POST",
          body: body,
          headers: { "X-Requested-With": "fetch" },
          credentials: "same-origin",
        });
        // An older answer arriving late must not overwrite a newer one.
        if (response.ok && request === latest) {
          preview.innerHTML = await response.text();
        }
      } catch (error) {
        // The "Update preview" button still works; nothing to undo here.
      }
    }
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, 250);
    });
  }

  // Custom Fields: the static value input only where the chosen kind sends it
  // (the select's data-value-kinds). Without JavaScript every row shows it and
  // the server ignores it for the other kinds.
  document.querySelectorAll("select[data-value-kinds]").forEach(function (select) {
    const kinds = select.dataset.valueKinds.split(" ");
    const row = select.closest(".custom-row");
    const field = row && row.querySelector("[data-value-field]");
    if (!field) return;
    function toggle() {
      field.hidden = !kinds.includes(select.value);
    }
    select.addEventListener("change", toggle);
    toggle();
  });
})();
