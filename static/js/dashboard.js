// The portfolio dashboard's charts, drawn by Chart.js (served locally) from the JSON the
// page carries in #dashboard-charts (built by evaluations/dashboard_views.py, labels already
// translated). Loaded as a file: the Content Security Policy forbids inline scripts.
// Every chart has its figures in a table right under it; the table stays open when no
// chart could be drawn and folds away (one click or key press from anyone, screen readers
// included) once the chart is there. Series are told apart by shape and dash as well as
// by colour.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var specs = JSON.parse(source.textContent);
  var palette = ["#1f5f99", "#a34a12", "#2e7d32", "#6a1b9a"];
  var pointStyles = ["circle", "triangle", "rectRot", "rect"];
  var dashes = [[], [6, 4], [2, 3], [8, 3, 2, 3]];
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var locale = document.documentElement.lang || undefined;

  function dataset(spec, index) {
    var colour = palette[index % palette.length];
    var style = spec.style || 0;
    var result = {
      label: spec.label,
      data: spec.data,
      type: spec.kind,
      backgroundColor: colour,
      borderColor: colour,
      pointStyle: spec.kind === "line" ? pointStyles[style % pointStyles.length] : "rect",
      // Lines over bars (Chart.js draws lower orders on top).
      order: spec.kind === "line" ? 0 : 1
    };
    if (spec.kind === "line") {
      result.fill = false;
      result.tension = 0;
      result.borderWidth = 2;
      result.borderDash = dashes[style % dashes.length];
      result.pointRadius = 5;
      result.pointHoverRadius = 7;
    }
    if (spec.axis === "y2") {
      result.yAxisID = "y2";
    }
    return result;
  }

  // Long category names (thematic areas, origins) on a horizontal chart: several short
  // lines instead of one line cut off at the canvas's edge.
  function wrap(label) {
    if (typeof label !== "string" || label.length <= 28) {
      return label;
    }
    var lines = [];
    var line = "";
    label.split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > 28) {
        lines.push(line);
        line = word;
      } else {
        line = line ? line + " " + word : word;
      }
    });
    lines.push(line);
    return lines;
  }

  function scales(spec) {
    var valueAxis = spec.horizontal ? "x" : "y";
    var result = {};
    result[valueAxis] = {
      beginAtZero: true,
      title: { display: Boolean(spec.axisTitle), text: spec.axisTitle },
      ticks: spec.integer ? { precision: 0 } : {}
    };
    if (spec.max) {
      result[valueAxis].max = spec.max;
    }
    if (spec.secondAxisTitle) {
      result.y2 = {
        position: "right",
        beginAtZero: true,
        grid: { drawOnChartArea: false },
        title: { display: true, text: spec.secondAxisTitle },
        ticks: { precision: 0 }
      };
    }
    return result;
  }

  specs.forEach(function (spec) {
    var canvas = document.getElementById(spec.id);
    if (!canvas) {
      return;
    }
    var datasets = spec.datasets.map(dataset);
    var labels = spec.horizontal ? spec.labels.map(wrap) : spec.labels;
    var tooltip = {};
    if (spec.titles) {
      // Short labels on the axis (objective numbers), the full ones in the tooltip.
      tooltip.callbacks = {
        title: function (items) {
          return items.length ? spec.titles[items[0].dataIndex] : "";
        }
      };
    }
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: reduceMotion ? false : {},
        locale: locale,
        plugins: {
          legend: { display: datasets.length > 1, labels: { usePointStyle: true } },
          tooltip: tooltip
        },
        scales: scales(spec)
      }
    });
    var figure = canvas.closest("figure");
    var table = figure && figure.querySelector("details[data-chart-table]");
    if (table) {
      table.open = false;
    }
  });
})();
