// Behaviour shared by every page. Loaded as a file: the Content Security Policy forbids
// inline scripts.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // A form sent back with errors: its first invalid field takes the focus, so that keyboard
  // and screen-reader users start where the correction is needed (the message is tied to
  // the field by aria-describedby). A closed <details> around it opens first.
  var invalid = document.querySelector("main [aria-invalid='true']");
  if (invalid) {
    var details = invalid.closest("details");
    if (details) {
      details.open = true;
    }
    invalid.focus();
  }
})();
