// In-place editing: forms marked data-inline inside a [data-inline-editor] container are
// sent with fetch; the server answers with the container's new HTML (errors included),
// so the page is never left. Without JavaScript the forms post and the page reloads.
(function () {
  "use strict";
  if (!window.fetch) {
    return;
  }
  document.querySelectorAll("[data-inline-editor]").forEach(function (container) {
    container.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches("form[data-inline]")) {
        return;
      }
      event.preventDefault();
      var body = new FormData(form);
      if (event.submitter && event.submitter.name) {
        body.append(event.submitter.name, event.submitter.value);
      }
      fetch(form.action, {
        method: "POST",
        body: body,
        headers: { "X-Requested-With": "fetch" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.text();
        })
        .then(function (html) {
          container.innerHTML = html;
          var invalid = container.querySelector("[aria-invalid=true]");
          var status = container.querySelector("[data-inline-status]");
          if (invalid) {
            var details = invalid.closest("details");
            if (details) {
              details.open = true;
            }
            invalid.focus();
          } else if (status) {
            status.textContent = status.getAttribute("data-saved-text");
          }
        })
        .catch(function () {
          form.submit();
        });
    });
  });
})();
