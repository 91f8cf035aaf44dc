/* EduSec: list-page selection. A header checkbox with data-toggle-all="pk" checks or clears every input[name=pk]
 * in its form; buttons marked data-bulk-action are enabled only while at least one row is selected.
 * Event delegation on document, so tables swapped in by htmx keep working. Nothing else lives here. */
(function () {
  "use strict";

  function scopeOf(el) {
    return el.closest("form") || document;
  }

  function refresh(scope) {
    var boxes = scope.querySelectorAll('input[type="checkbox"][name="pk"]');
    var checked = 0;
    boxes.forEach(function (box) { if (box.checked) { checked += 1; } });
    scope.querySelectorAll("input[data-toggle-all]").forEach(function (toggle) {
      toggle.checked = boxes.length > 0 && checked === boxes.length;
      toggle.indeterminate = checked > 0 && checked < boxes.length;
    });
    scope.querySelectorAll("[data-bulk-action]").forEach(function (button) {
      button.disabled = checked === 0;
    });
    scope.querySelectorAll("[data-selected-count]").forEach(function (counter) {
      counter.textContent = String(checked);
    });
  }

  function refreshAll() {
    var scopes = new Set();
    document.querySelectorAll("[data-bulk-action], input[data-toggle-all]").forEach(function (el) {
      scopes.add(scopeOf(el));
    });
    scopes.forEach(refresh);
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement) || target.type !== "checkbox") { return; }
    var scope = scopeOf(target);
    var name = target.getAttribute("data-toggle-all");
    if (name) {
      scope.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
        if (!box.disabled) { box.checked = target.checked; }
      });
    }
    if (name || target.name === "pk") { refresh(scope); }
  });

  document.addEventListener("DOMContentLoaded", refreshAll);
  document.addEventListener("htmx:afterSettle", refreshAll);
  // Back/forward from the browser cache restores checkbox states without a change event.
  window.addEventListener("pageshow", refreshAll);
})();
