// A job's progress (an allocation run, a poster schedule, a batch of feedback PDFs), polled until it
// finishes, then the page its data-done-url names. The element #run-progress carries data-url (the
// JSON status: {finished, job: {progress, message, stuck}}); #run-bar, #run-message and #run-stuck show it.
(function () {
  "use strict";

  const progress = document.getElementById("run-progress");
  if (progress && document.getElementById("run-bar")) {
    const bar = document.getElementById("run-bar");
    const message = document.getElementById("run-message");
    const stuck = document.getElementById("run-stuck");
    const poll = () => {
      fetch(progress.dataset.url, { headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
        .then((data) => {
          if (data.finished) {
            window.location.assign(progress.dataset.doneUrl);
            return;
          }
          if (data.job) {
            bar.value = data.job.progress;
            bar.textContent = data.job.progress + "%";
            message.textContent = data.job.message;
            stuck.classList.toggle("d-none", !data.job.stuck);
          }
          window.setTimeout(poll, 1000);
        })
        .catch(() => window.setTimeout(poll, 3000));
    };
    window.setTimeout(poll, 500);
  }
})();
