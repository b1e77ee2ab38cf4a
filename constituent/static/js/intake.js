// Log a call: with JavaScript the look-ups run as you type (htmx), so the
// "Find matches" fallback button is not needed and Enter logs the call.
(function () {
  "use strict";
  var find = document.getElementById("find-matches");
  if (find && window.htmx) {
    find.remove();
  }
})();
