// Signature capture with signature_pad: <canvas data-signature-input="id_of_hidden_input">.
// The drawing is written to the hidden input as a PNG data URI when the form is
// submitted; an untouched pad leaves it empty, which the server refuses.
(function () {
  "use strict";

  function setUp(canvas) {
    var input = document.getElementById(canvas.dataset.signatureInput);
    var pad = new SignaturePad(canvas, { minWidth: 0.8, maxWidth: 2.6, penColor: "#1a1a2e" });

    function resize() {
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      var data = pad.toData();
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      pad.fromData(data);
    }

    window.addEventListener("resize", resize);
    resize();

    var clear = document.querySelector('[data-signature-clear="' + canvas.id + '"]');
    if (clear) {
      clear.addEventListener("click", function () {
        pad.clear();
        input.value = "";
      });
    }
    pad.addEventListener("endStroke", function () {
      input.value = pad.toDataURL("image/png");
    });
    canvas.closest("form").addEventListener("submit", function () {
      input.value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-signature-input]").forEach(setUp);
  });
})();
