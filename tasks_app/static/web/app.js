// Progressive enhancement only: every form works without this file.
// Kept out of the page so the Content-Security-Policy can forbid inline script.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.matches && target.matches("[data-autosubmit]") && target.form) {
    target.form.submit();
  }
});
// Confirm destructive actions (cancel, return) without inline handlers.
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
// On a wide screen the menu starts open (its "Menu" button is then hidden by the CSS).
var wide = window.matchMedia("(min-width: 48rem)");
function syncMenu() {
  var menu = document.querySelector(".nav-toggle");
  if (menu && wide.matches) {
    menu.open = true;
  }
}
document.addEventListener("DOMContentLoaded", syncMenu);
wide.addEventListener("change", syncMenu);
// A refused form: move focus (and the view) to the error summary at the top of the page, whose
// links lead to each field in error.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
});
