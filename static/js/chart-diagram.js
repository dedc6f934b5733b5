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

  // --- Injection points (optional): in point mode a tap on a drawing adds a point
  // there, x/y in % of the drawing, its zone from the shape tapped (changeable), and
  // a product (one of the chart's lots) and a volume to fill in.
  var SVG = "http://www.w3.org/2000/svg";

  function pointRows() {
    return document.querySelector("#point-rows tbody");
  }

  function pointMode() {
    var button = document.getElementById("point-mode");
    return button && button.getAttribute("aria-pressed") === "true";
  }

  function productOptions(select) {
    var chosen = select.value;
    var lots = {};
    select.querySelectorAll("option").forEach(function (option, i) {
      if (i > 0) option.remove();
    });
    document.querySelectorAll('[data-lines="products"] tbody tr').forEach(function (row) {
      var lot = row.querySelector('[name="product_lot"]');
      if (!lot || !lot.value.trim()) return;
      var value = lot.value.trim().toUpperCase();
      if (lots[value]) return;
      lots[value] = true;
      var brand = row.querySelector('[name="product_brand"]');
      var name = row.querySelector('[name="product_name"]');
      var option = document.createElement("option");
      option.value = value;
      option.textContent = [brand && brand.value, name && name.value, "· lot " + lot.value.trim()]
        .filter(Boolean).join(" ");
      select.appendChild(option);
    });
    if (chosen) select.value = chosen;
  }

  function drawPoints() {
    document.querySelectorAll(".diagram-frame .point-layer").forEach(function (layer) {
      while (layer.firstChild) layer.removeChild(layer.firstChild);
    });
    pointRows().querySelectorAll("[data-point-row]").forEach(function (row, i) {
      var zone = row.querySelector('[name="point_zone"]').value;
      var shape = document.querySelector('.zone-diagram [data-zone="' + zone + '"]');
      var frame = shape && shape.closest(".diagram-frame");
      if (!frame) return;
      var layer = frame.querySelector(".point-layer");
      var x = row.querySelector('[name="point_x"]').value + "%";
      var y = row.querySelector('[name="point_y"]').value + "%";
      var dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("cx", x);
      dot.setAttribute("cy", y);
      dot.setAttribute("r", "8");
      dot.setAttribute("data-testid", "point-marker");
      var label = document.createElementNS(SVG, "text");
      label.setAttribute("x", x);
      label.setAttribute("y", y);
      label.textContent = String(i + 1);
      layer.appendChild(dot);
      layer.appendChild(label);
    });
  }

  function addPoint(frame, event, zone) {
    var box = frame.querySelector(".zone-diagram").getBoundingClientRect();
    var x = ((event.clientX - box.left) / box.width) * 100;
    var y = ((event.clientY - box.top) / box.height) * 100;
    var template = document.getElementById("point-row-template");
    var row = template.content.firstElementChild.cloneNode(true);
    row.querySelector('[name="point_x"]').value = x.toFixed(1);
    row.querySelector('[name="point_y"]').value = y.toFixed(1);
    var zones = row.querySelector('[name="point_zone"]');
    zones.value = zone;
    productOptions(row.querySelector('[name="point_product"]'));
    pointRows().appendChild(row);
    // A point's zone is a treated area.
    if (!rows().querySelector('[data-zone-row="' + zone + '"]')) {
      toggle(frame.querySelector('[data-zone="' + zone + '"]'));
    }
    drawPoints();
    row.querySelector('[name="point_volume"]').focus();
    frame.dispatchEvent(new CustomEvent("mc:changed", { bubbles: true }));
  }

  function setUpPoints() {
    var button = document.getElementById("point-mode");
    if (!button || !pointRows()) return;
    button.addEventListener("click", function () {
      var on = !pointMode();
      button.setAttribute("aria-pressed", on ? "true" : "false");
      document.querySelector(".diagrams").classList.toggle("point-mode", on);
    });
    document.querySelectorAll(".diagram-frame").forEach(function (frame) {
      frame.addEventListener("click", function (event) {
        if (!pointMode()) return;
        var shape = event.target.closest("[data-zone]");
        if (!shape) return; // a point belongs to a zone: tap inside one
        event.stopPropagation();
        addPoint(frame, event, shape.dataset.zone);
      }, true);
    });
    pointRows().addEventListener("change", drawPoints);
    pointRows().addEventListener("focusin", function (event) {
      if (event.target.name === "point_product") productOptions(event.target);
    });
    document.addEventListener("click", function (event) {
      if (event.target.closest("#point-rows [data-remove-line]")) {
        window.setTimeout(drawPoints, 0);
      }
    });
    drawPoints();
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
    setUpPoints();
  });
})();
