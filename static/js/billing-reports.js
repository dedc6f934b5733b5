// Draws the billing report charts with Chart.js from the JSON the page embeds.
(function () {
  "use strict";
  const source = document.getElementById("billing-chart-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const colour = "#b0304a";
  function draw(id, series, kind, label) {
    const canvas = document.getElementById(id);
    if (!canvas || !series) return;
    new Chart(canvas, {
      type: kind,
      data: {
        labels: series.labels,
        datasets: [{ label: label, data: series.values.map(Number), backgroundColor: colour, borderColor: colour }],
      },
      options: {
        animation: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true } },
      },
    });
  }
  draw("chart-month", data.month, "bar", "Revenue");
  draw("chart-protocol", data.protocol, "bar", "Revenue");
  draw("chart-practitioner", data.practitioner, "bar", "Revenue");
  draw("chart-location", data.location, "bar", "Revenue");
  draw("chart-conversion", data.conversion, "line", "Conversion %");
})();
