// The poster schedule page: the live check of a move or a swap before it is made (the server checks
// again when the change is sent), and only the field the chosen change needs.
(function () {
  "use strict";

  const form = document.getElementById("change-form");
  if (!form) {
    return;
  }
  const panel = document.getElementById("change-check");
  const submit = form.querySelector("button[type=submit]");
  const student = form.querySelector("select[name=student]");
  const target = form.querySelector("select[name=target]");
  const other = form.querySelector("select[name=other]");
  const actions = form.querySelectorAll("input[name=action]");

  function action() {
    const chosen = form.querySelector("input[name=action]:checked");
    return chosen ? chosen.value : "move";
  }

  function showFields() {
    const swap = action() === "swap";
    target.closest(".mb-3").hidden = swap;
    other.closest(".mb-3").hidden = !swap;
  }

  function item(text) {
    const li = document.createElement("li");
    li.textContent = text;
    return li;
  }

  function figures(label, f) {
    return label + ": " + f.placed + " placed, " + f.unplaced + " without a slot, " + f.assessor_days +
      " assessor-days, “if needed” used " + f.if_needed_used + " times.";
  }

  function render(data) {
    panel.replaceChildren();
    const box = document.createElement("div");
    box.className = "alert mb-0 " + (data.ok ? (data.warnings.length ? "alert-warning" : "alert-success") : "alert-danger");
    const heading = document.createElement("strong");
    heading.textContent = data.ok ? "This change keeps every rule." : "This change is not allowed.";
    box.append(heading);
    const list = document.createElement("ul");
    list.className = "mb-0";
    data.problems.forEach((p) => list.append(item(p)));
    data.warnings.forEach((w) => list.append(item(w)));
    list.append(item(figures("Now", data.before)));
    list.append(item(figures("After the change", data.after)));
    box.append(list);
    panel.append(box);
  }

  const ask = window.projectflow.liveCheck(form, panel, { what: "change", render });

  function check() {
    showFields();
    const swap = action() === "swap";
    if (!student.value || (swap ? !other.value : !target.value)) {
      panel.replaceChildren();
      submit.disabled = false;
      return;
    }
    const params = new URLSearchParams({ student: student.value, action: action() });
    params.set(swap ? "other" : "target", swap ? other.value : target.value);
    ask(params);
  }

  [student, target, other].forEach((select) => select.addEventListener("change", check));
  actions.forEach((radio) => radio.addEventListener("change", check));
  showFields();
})();
