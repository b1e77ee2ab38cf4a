/* Referral form: keep the suggested due date in step with the agency and the date sent,
   until the user types a due date of their own. The server applies the same default. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-follow-up-days]");
  if (!form) { return; }
  var days = JSON.parse(form.getAttribute("data-follow-up-days") || "{}");
  var agency = form.querySelector("#agency");
  var sent = form.querySelector("#sent_on");
  var due = form.querySelector("#due_on");
  if (!agency || !sent || !due) { return; }
  var typed = false;
  due.addEventListener("input", function () { typed = true; });
  function update() {
    var interval = days[agency.value];
    if (typed || !interval || !sent.value) { return; }
    var date = new Date(sent.value + "T12:00:00Z");
    if (isNaN(date.getTime())) { return; }
    date.setUTCDate(date.getUTCDate() + interval);
    due.value = date.toISOString().slice(0, 10);
  }
  agency.addEventListener("change", update);
  sent.addEventListener("change", update);
}());

/* With htmx the contact list follows the agency by itself: the no-JavaScript button goes. */
(function () {
  "use strict";
  var refresh = document.querySelector("form[data-follow-up-days] button[name=refresh]");
  if (refresh && window.htmx) { refresh.style.display = "none"; }
}());
