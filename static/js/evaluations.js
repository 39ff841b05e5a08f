// Monitoring page. Loaded as a file: the Content Security Policy forbids inline scripts.
// Everything here is an enhancement: the page works without JavaScript.
(function () {
  "use strict";

  // Copy buttons next to the feedback links (without JavaScript the read-only field can
  // be selected and copied by hand, so the buttons stay hidden).
  var live = document.createElement("div");
  live.className = "visually-hidden";
  live.setAttribute("aria-live", "polite");
  document.body.appendChild(live);

  function copied(button) {
    live.textContent = button.getAttribute("data-copied") || "";
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () {
          copied(button);
        });
      } else {
        field.focus();
        field.select();
        try {
          document.execCommand("copy");
          copied(button);
        } catch (e) {
          // The text stays selected: the user copies it by hand.
        }
      }
    });
  });

  // Back from a form (``#links-12``): open the section the address points to.
  function openTarget() {
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.tagName === "DETAILS") {
      target.open = true;
    }
  }
  openTarget();
  window.addEventListener("hashchange", openTarget);

  // A form sent back with errors: bring its first invalid field into view and focus it.
  var invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) {
    var details = invalid.closest("details");
    if (details) {
      details.open = true;
    }
    invalid.focus();
  }
})();
