// The preference list editor: drag and drop, and the up/down/remove buttons handled in the page.
// Without this script the same buttons post the form and the server rearranges the list.
(function () {
  "use strict";
  const list = document.getElementById("ranked-list");
  if (!list) {
    return;
  }
  const count = document.getElementById("ranked-count");

  function markUnsaved() {
    if (document.getElementById("unsaved-note")) {
      return;
    }
    const note = document.createElement("div");
    note.id = "unsaved-note";
    note.className = "alert alert-warning";
    note.setAttribute("role", "status");
    note.textContent = "Not saved yet: press \u201cSave preferences\u201d to keep these changes.";
    list.parentElement.insertBefore(note, list);
  }

  function refresh() {
    if (count) {
      count.textContent = list.querySelectorAll(".ranked-item").length;
    }
    markUnsaved();
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-move]");
    if (!button) {
      return;
    }
    event.preventDefault();
    const item = button.closest(".ranked-item");
    const move = button.dataset.move;
    if (move === "up" && item.previousElementSibling) {
      list.insertBefore(item, item.previousElementSibling);
    } else if (move === "down" && item.nextElementSibling) {
      list.insertBefore(item.nextElementSibling, item);
    } else if (move === "remove") {
      item.remove();
    }
    refresh();
    const again = item.isConnected ? item.querySelector(`button[data-move="${move}"]`) : null;
    if (again) {
      again.focus();
    }
  });

  let dragged = null;
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".ranked-item");
    if (dragged) {
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.id);
    }
  });
  list.addEventListener("dragend", () => {
    if (dragged) {
      dragged.classList.remove("dragging");
    }
    dragged = null;
  });
  list.addEventListener("dragover", (event) => {
    if (!dragged) {
      return;
    }
    event.preventDefault();
    const target = event.target.closest(".ranked-item");
    if (!target || target === dragged) {
      return;
    }
    const box = target.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? target.nextElementSibling : target);
  });
  list.addEventListener("drop", (event) => {
    if (dragged) {
      event.preventDefault();
      refresh();
    }
  });
})();
