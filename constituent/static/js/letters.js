// Letters: the "Print" button opens the browser's print dialog (no inline handlers: CSP).
(function () {
  "use strict";
  document.querySelectorAll("[data-print-letter]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
