// Small progressive enhancements; every form still works without JavaScript.

// Forms with data-confirm ask before they submit (publish, roll back, revert, remove).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
document.addEventListener("htmx:confirm", (event) => {
  const form = event.target.closest("form");
  const question = form && form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// The item picker: a result button appends its id to the field's list and applies it.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-pick]");
  if (!button) return;
  const field = document.getElementById(button.dataset.target);
  if (!field) return;
  const ids = field.value.split(/\n/).map((s) => s.trim()).filter(Boolean);
  if (!ids.includes(button.dataset.pick)) ids.push(button.dataset.pick);
  field.value = ids.join("\n");
  field.dispatchEvent(new Event("change", { bubbles: true }));
});

// Warn before leaving with settings typed but not yet applied to the draft.
let dirty = false;
document.addEventListener("input", (event) => {
  if (event.target.closest("[data-dirty-guard]")) dirty = true;
});
document.addEventListener("htmx:afterRequest", () => { dirty = false; });
document.addEventListener("submit", () => { dirty = false; });
window.addEventListener("beforeunload", (event) => {
  if (dirty) {
    event.preventDefault();
    event.returnValue = "";
  }
});

// Drag and drop to reorder slots (the arrow buttons do the same from the keyboard).
let dragged = null;
document.addEventListener("dragstart", (event) => {
  dragged = event.target.closest(".slot-item");
});
document.addEventListener("dragover", (event) => {
  if (dragged && event.target.closest(".slot-item")) event.preventDefault();
});
document.addEventListener("drop", (event) => {
  const target = event.target.closest(".slot-item");
  if (!dragged || !target || target === dragged) return;
  event.preventDefault();
  const csrf = document.querySelector('input[name="csrf_token"]').value;
  htmx.ajax("POST", dragged.dataset.moveUrl, {
    target: "#editor", swap: "outerHTML",
    values: { slot: dragged.dataset.index, to: target.dataset.index, csrf_token: csrf },
  });
  dragged = null;
});

// A select marked data-refresh asks its row to be fetched again (hx-trigger="refresh-row"): an htmx
// trigger filter would say the same, but filters need eval, which the Content-Security-Policy forbids.
document.addEventListener("change", (event) => {
  if (event.target instanceof Element && event.target.matches("[data-refresh]")) {
    event.target.dispatchEvent(new CustomEvent("refresh-row", { bubbles: true }));
  }
});
