/* Every form is sent once: after the first submit its buttons are disabled, so a second click
   on a slow connection sends nothing more (the server refuses a repeat too: create forms carry a
   one-time key). Buttons come back when the page is shown again from the browser's history. */
(function () {
  "use strict";
  var BUTTONS = "button:not([type]), button[type=submit], input[type=submit]";

  function setButtons(form, disabled) {
    Array.prototype.forEach.call(form.querySelectorAll(BUTTONS), function (button) {
      button.disabled = disabled;
      if (disabled) {
        button.setAttribute("aria-disabled", "true");
      } else {
        button.removeAttribute("aria-disabled");
      }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) { return; }
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") { return; }
    if (form.hasAttribute("data-sending")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sending", "");
    // After this event, so the clicked button's name and value are still sent with the form.
    window.setTimeout(function () { setButtons(form, true); }, 0);
  });

  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-sending]"), function (form) {
      form.removeAttribute("data-sending");
      setButtons(form, false);
    });
  });
}());
