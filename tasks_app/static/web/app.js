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
// So do the tables folded on a phone only (data-open-wide: a chart above shows the same figures).
function syncMenu() {
  var menu = document.querySelector(".nav-toggle");
  if (menu && wide.matches) {
    menu.open = true;
  }
  if (wide.matches) {
    document.querySelectorAll("details[data-open-wide]").forEach(function (d) {
      d.open = true;
    });
  }
}
document.addEventListener("DOMContentLoaded", syncMenu);
wide.addEventListener("change", syncMenu);
// A refused form, on every page (templates/web/_error_summary.html, put at the top of the main
// content by base.html): bring the error summary to the top of the view and move focus to it;
// each of its links moves focus to its field.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) {
    return;
  }
  summary.scrollIntoView({ block: "start" });
  summary.focus({ preventScroll: true });
  summary.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href^='#']");
    var field = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!field) {
      return;
    }
    event.preventDefault();
    var group = field.closest("div, p, fieldset") || field;
    group.scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", link.getAttribute("href"));
    }
  });
});
