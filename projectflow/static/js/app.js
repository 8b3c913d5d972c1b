// projectflow's own scripts. Served from the package; the Content-Security-Policy forbids inline scripts.
// Buttons marked data-confirm ask before their form is sent.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const message = button && button.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// Buttons marked data-once are disabled once their form is on its way, so a double click posts once.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && "once" in button.dataset && !event.defaultPrevented) {
    window.setTimeout(() => { button.disabled = true; }, 0);
  }
});
