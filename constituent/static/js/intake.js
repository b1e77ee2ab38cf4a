// Log a call: with JavaScript the look-ups run as you type (htmx), so the
// "Find matches" fallback button is not needed. Enter in a one-line field logs
// the call ("Log the call" is the form's first button); in "What the caller
// said", where Enter starts a new line, Ctrl+Enter logs it.
(function () {
  "use strict";
  var find = document.getElementById("find-matches");
  if (find && window.htmx) {
    find.remove();
  }
  var form = document.getElementById("intake-form");
  var log = document.getElementById("log-call");
  var said = document.getElementById("description");
  if (!form || !log || !said) {
    return;
  }
  said.setAttribute("aria-keyshortcuts", "Control+Enter");
  var hint = document.getElementById("description-hint");
  if (hint) {
    hint.textContent += " Ctrl+Enter logs the call.";
  }
  said.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (form.requestSubmit) {
        form.requestSubmit(log);
      } else {
        log.click();
      }
    }
  });
})();
