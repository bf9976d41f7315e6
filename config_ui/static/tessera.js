// Small progressive enhancements; every form still works without JavaScript.
// Forms with data-confirm ask before they submit (publish, roll back, revert).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
