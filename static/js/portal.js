// Behaviour shared by every page. Loaded as a file: the Content Security Policy forbids
// inline scripts.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // The language switcher submits on change; without JavaScript its button does.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });
})();
