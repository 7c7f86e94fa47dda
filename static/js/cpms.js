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

  // The idle warning: the server ends a session after SESSION_IDLE_SECONDS without a page, form or click (polls do
  // not count). A minute before, say so and offer to stay; when the time is up, go to the signed-out page.
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("idle-warning");
    if (!box) {
      return;
    }
    var idle = parseInt(box.getAttribute("data-idle-seconds"), 10) * 1000;
    if (!(idle > 0)) {
      return;  // no clock given: never sign anyone out from here (the server still ends idle sessions)
    }
    var warnTimer, endTimer;
    function arm() {
      clearTimeout(warnTimer);
      clearTimeout(endTimer);
      box.hidden = true;
      warnTimer = setTimeout(function () {
        box.hidden = false;
        document.getElementById("idle-stay").focus();
      }, Math.max(idle - 60000, 0));
      endTimer = setTimeout(function () {
        window.location.assign(box.getAttribute("data-signed-out-url"));
      }, idle + 2000);
    }
    box.querySelector("form").addEventListener("submit", function (event) {
      event.preventDefault();
      var token = box.querySelector("input[name=csrfmiddlewaretoken]").value;
      fetch(box.getAttribute("data-keepalive-url"), {method: "POST", headers: {"X-CSRFToken": token}, credentials: "same-origin"})
        .then(function (response) {
          if (response.ok) {
            arm();
          } else {
            window.location.assign(box.getAttribute("data-signed-out-url"));
          }
        });
    });
    arm();
  });
})();
