// CPMS page behaviour. Loaded as a file (no inline scripts), so a strict Content-Security-Policy can apply.
(function () {
  "use strict";
  // After a failed submit, move focus to the error summary so screen-reader users hear what to fix first.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".cpms-error-summary");
    if (summary) {
      summary.focus();
    }
  });
})();
