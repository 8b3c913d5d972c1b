// The allocation run page: the live check of a hand move (the server checks again when the move is
// sent).
(function () {
  "use strict";

  const form = document.getElementById("move-form");
  if (!form) {
    return;
  }
  const student = form.querySelector("select[name=student]");
  const project = form.querySelector("select[name=project]");
  const panel = document.getElementById("move-check");

  function item(text, kind) {
    const li = document.createElement("li");
    li.className = kind;
    li.textContent = text;
    return li;
  }

  function figures(label, f) {
    const worst = f.worst_rank === null ? "none" : f.worst_rank;
    return label + ": " + f.placed + " placed, " + f.unplaced + " without a project, choices given " +
      JSON.stringify(f.profile) + ", worst choice " + worst + ".";
  }

  function render(data) {
    panel.replaceChildren();
    const box = document.createElement("div");
    box.className = "alert " + (data.ok ? (data.warnings.length ? "alert-warning" : "alert-success") : "alert-danger");
    const heading = document.createElement("strong");
    heading.textContent = data.ok ? "This move keeps every rule." : "This move is not allowed.";
    box.append(heading);
    const list = document.createElement("ul");
    list.className = "mb-0";
    data.problems.forEach((p) => list.append(item(p, "")));
    data.warnings.forEach((w) => list.append(item(w, "")));
    if (data.after) {
      list.append(item(figures("Now", data.before), "text-body-secondary"));
      list.append(item(figures("After the move", data.after), "fw-semibold"));
    }
    box.append(list);
    panel.append(box);
  }

  const ask = window.projectflow.liveCheck(form, panel, { what: "move", render });
  const check = () => ask(new URLSearchParams({ student: student.value, project: project.value }));

  student.addEventListener("change", check);
  project.addEventListener("change", check);
})();
