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

// The live check of a change before its form is sent (an allocation move, a poster move or swap):
// projectflow.liveCheck(form, panel, { what, render }) gives check(params), which asks the form's
// data-check-url and shows the answer in panel with render(data). Only the answer to the latest
// question is shown: an earlier one arriving late is cancelled (or, if already read, ignored). The
// submit button waits for the answer and stays off when the change is refused; the server checks again.
window.projectflow = window.projectflow || {};
window.projectflow.liveCheck = (form, panel, { what, render }) => {
  const submit = form.querySelector("button[type=submit]");
  let latest = null;
  return (params) => {
    if (latest) {
      latest.abort();
    }
    const mine = new AbortController();
    latest = mine;
    panel.textContent = "Checking…";
    submit.disabled = true;
    fetch(form.dataset.checkUrl + "?" + params.toString(), { headers: { Accept: "application/json" }, signal: mine.signal })
      .then((response) => response.json().then((data) => ({ response, data })))
      .then(({ response, data }) => {
        if (latest !== mine) {
          return;
        }
        if (response.ok) {
          render(data);
          submit.disabled = !data.ok;
        } else {
          panel.textContent = data.message || "The " + what + " could not be checked.";
          submit.disabled = false;
        }
      })
      .catch(() => {
        if (latest === mine) {
          panel.textContent = "The " + what + " could not be checked: is the server reachable?";
          submit.disabled = false;
        }
      });
  };
};
