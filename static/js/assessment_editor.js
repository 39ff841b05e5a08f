// In-page editing of capacity gaps: forms marked data-inline are sent with fetch and the
// server answers with the re-rendered gaps section, so staff never leave the page.
// Without JavaScript the same forms post normally and the page reloads.
(function () {
  "use strict";
  var container = document.querySelector("[data-gap-editor]");
  if (!container || !window.fetch) {
    return;
  }
  container.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-inline]")) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("[type=submit]");
    if (button) {
      button.disabled = true;
    }
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.text().then(function (html) {
          return { ok: response.ok, html: html };
        });
      })
      .then(function (result) {
        container.innerHTML = result.html;
        // The fragment carries the next-step buttons too (sharing needs a gap).
        var replacement = container.querySelector("template[data-replaces=transitions]");
        var transitions = document.querySelector("[data-transitions]");
        if (replacement && transitions) {
          transitions.innerHTML = "";
          transitions.appendChild(replacement.content.cloneNode(true));
          replacement.remove();
        }
        var status = container.querySelector("[data-gap-status]");
        var invalid = container.querySelector("[aria-invalid=true]");
        if (invalid) {
          invalid.focus();
        } else if (status) {
          status.textContent = status.getAttribute("data-saved-text") || "Saved.";
        }
      })
      .catch(function () {
        form.submit();
      });
  });
})();
