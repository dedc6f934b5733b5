// Session chart: the clickable zone diagrams and the add/remove line tables.
// A tap on a zone (an SVG shape with data-zone="<code>") adds a row to the treated
// areas table with a hidden input name="zone" and a volume field; a second tap
// removes it. The server stores the structured zone codes, never pixels.
(function () {
  "use strict";

  function rows() {
    return document.querySelector("#area-rows tbody");
  }

  function labelOf(shape) {
    var title = shape.querySelector("title");
    return title ? title.textContent : shape.dataset.zone;
  }

  function markSelected() {
    var chosen = {};
    rows().querySelectorAll("[data-zone-row]").forEach(function (row) {
      chosen[row.dataset.zoneRow] = true;
    });
    document.querySelectorAll(".zone-diagram [data-zone]").forEach(function (shape) {
      shape.classList.toggle("selected", !!chosen[shape.dataset.zone]);
      shape.setAttribute("aria-pressed", chosen[shape.dataset.zone] ? "true" : "false");
    });
  }

  function toggle(shape) {
    var code = shape.dataset.zone;
    var existing = rows().querySelector('[data-zone-row="' + code + '"]');
    if (existing) {
      existing.remove();
    } else {
      var row = document.createElement("tr");
      row.dataset.zoneRow = code;
      var name = document.createElement("td");
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "zone";
      hidden.value = code;
      name.appendChild(hidden);
      name.appendChild(document.createTextNode(labelOf(shape)));
      var volumeCell = document.createElement("td");
      var volume = document.createElement("input");
      volume.className = "form-control form-control-sm";
      volume.name = "volume_" + code;
      volume.inputMode = "decimal";
      volume.setAttribute("aria-label", "Volume for " + labelOf(shape) + " (mL)");
      volumeCell.appendChild(volume);
      row.appendChild(name);
      row.appendChild(volumeCell);
      rows().appendChild(row);
    }
    markSelected();
    // Tell the page the chart changed (its unsaved-changes warning listens).
    shape.dispatchEvent(new CustomEvent("mc:changed", { bubbles: true }));
  }

  function setUpLines() {
    document.querySelectorAll("[data-add-line]").forEach(function (button) {
      button.addEventListener("click", function () {
        var table = document.querySelector('[data-lines="' + button.dataset.addLine + '"]');
        var template = table.querySelector("template");
        table.querySelector("tbody").appendChild(template.content.cloneNode(true));
      });
    });
    document.addEventListener("click", function (event) {
      var remove = event.target.closest("[data-remove-line]");
      if (remove) {
        remove.closest("tr").remove();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!rows()) {
      return;
    }
    document.querySelectorAll(".zone-diagram [data-zone]").forEach(function (shape) {
      shape.setAttribute("role", "button");
      shape.setAttribute("tabindex", "0");
      shape.setAttribute("aria-label", labelOf(shape));
      shape.addEventListener("click", function () {
        toggle(shape);
      });
      shape.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          toggle(shape);
        }
      });
    });
    markSelected();
    setUpLines();
  });
})();
