// A mark sheet saves as the marker goes (a crashed browser loses a few seconds at most), and a mark
// typed in chooses its band. The server checks everything again; the buttons work without this file.
(function () {
  "use strict";

  const form = document.getElementById("sheet-form");
  if (!form) {
    return;
  }
  const status = document.getElementById("autosave-status");
  const version = form.querySelector("input[name=version]");
  // Lowest mark of each band, best first, as the band choices are listed (index = option value).
  const lows = [90, 80, 70, 60, 50, 40, 0];
  let timer = null;
  let sending = false;
  let again = false;

  form.querySelectorAll("input[name^=mark_]").forEach((input) => {
    input.addEventListener("change", () => {
      const value = Number(input.value.trim());
      if (input.value.trim() === "" || Number.isNaN(value) || value < 0 || value > 100) {
        return;
      }
      const band = form.querySelector("select[name=band_" + input.name.slice(5) + "]");
      if (band) {
        band.value = String(lows.findIndex((low) => value >= low));
      }
    });
  });

  function save() {
    if (sending) {
      again = true;
      return;
    }
    sending = true;
    const body = new FormData(form);
    body.delete("submit");
    body.set("save", "Save draft");
    status.textContent = "Saving…";
    fetch(form.dataset.autosave, { method: "POST", body, headers: { Accept: "application/json" } })
      .then((response) => response.json())
      .then((data) => {
        if (data.saved) {
          version.value = data.version;
          status.textContent = data.message;
        } else {
          status.textContent = data.message + (data.changed && data.changed.length ? " " + data.changed.join(" ") : "");
        }
      })
      .catch(() => { status.textContent = "Not saved: is the server reachable? Your marks are still in this page."; })
      .finally(() => {
        sending = false;
        if (again) {
          again = false;
          save();
        }
      });
  }

  form.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 2000);
  });
  form.addEventListener("submit", () => window.clearTimeout(timer));
})();
