// Plots on an experiment's page, drawn with the vendored Chart.js from the JSON block the
// server renders (#experiment-chart-data). Every number is also in the tables, so the page
// reads the same without JavaScript; this only draws pictures of them.
(() => {
  const source = document.getElementById("experiment-chart-data");
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const names = data.names || {};

  const TONE = { better: "#1c6b3a", worse: "#b3261e", unclear: "#5b6475" };
  const PALETTE = ["#3853d8", "#c2571a", "#7a3fb0", "#0f7b83", "#a1327a"];
  const signed = (x) => `${x > 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
  const tone = (ci) => (ci[0] > 0 ? "better" : ci[1] < 0 ? "worse" : "unclear");

  // A solid line at "no difference" (0) on the value axis, drawn under the data.
  const zeroLine = {
    id: "zeroLine",
    beforeDatasetsDraw(chart, _args, options) {
      const scale = chart.scales[options.axis];
      if (!scale || scale.min > 0 || scale.max < 0) return;
      const at = scale.getPixelForValue(0);
      const { ctx, chartArea: area } = chart;
      ctx.save();
      ctx.strokeStyle = "#1d2330";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      if (options.axis === "x") {
        ctx.moveTo(at, area.top);
        ctx.lineTo(at, area.bottom);
      } else {
        ctx.moveTo(area.left, at);
        ctx.lineTo(area.right, at);
      }
      ctx.stroke();
      ctx.restore();
    },
  };

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1d2330";
  Chart.defaults.animation = false;

  // (a) Forest plot: one row per metric and variant; the bar is the 95% CI, the dot the estimate.
  function drawForest(canvas, rows) {
    const colours = rows.map((r) => TONE[tone(r.rel_ci)]);
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map((r) => `${names[r.metric] || r.metric} · ${r.variant}`),
        datasets: [
          {
            type: "bar",
            label: "95% confidence interval",
            data: rows.map((r) => [r.rel_ci[0], r.rel_ci[1]]),
            backgroundColor: colours.map((c) => `${c}40`),
            borderColor: colours,
            borderWidth: 1,
            borderSkipped: false,
            barPercentage: 0.45,
            categoryPercentage: 1,
          },
          {
            type: "line",
            label: "Relative lift (estimate)",
            data: rows.map((r) => r.rel_lift),
            showLine: false,
            pointRadius: 6,
            pointHoverRadius: 7,
            pointBackgroundColor: colours,
            pointBorderColor: "#fff",
            pointBorderWidth: 1.5,
            borderColor: "#1d2330",
            backgroundColor: "#1d2330",
          },
        ],
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        scales: {
          x: {
            grace: "5%",
            ticks: { callback: (value) => signed(value) },
            title: { display: true, text: "Relative lift against control" },
          },
          y: { grid: { display: false } },
        },
        plugins: {
          zeroLine: { axis: "x" },
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: (item) => {
                const r = rows[item.dataIndex];
                return `${signed(r.rel_lift)} (95% CI ${signed(r.rel_ci[0])} to ${signed(r.rel_ci[1])})`;
              },
            },
          },
        },
      },
      plugins: [zeroLine],
    });
  }

  // (b) Cumulative relative lift by day, one chart per metric: a line per variant inside its CI band.
  function drawTimeline(canvas, points) {
    const dates = [...new Set(points.map((p) => p.date))].sort();
    const variants = [...new Set(points.map((p) => p.variant))];
    const datasets = variants.flatMap((variant, i) => {
      const colour = PALETTE[i % PALETTE.length];
      const byDate = new Map(points.filter((p) => p.variant === variant).map((p) => [p.date, p]));
      const series = (pick) => dates.map((d) => {
        const p = byDate.get(d);
        return p ? pick(p) : null;
      });
      const band = { borderWidth: 0, pointRadius: 0, pointHitRadius: 0, isBand: true };
      return [
        { ...band, label: `${variant}: 95% CI high`, data: series((p) => (p.rel_ci ? p.rel_ci[1] : null)),
          fill: "+1", backgroundColor: `${colour}26` },
        { ...band, label: `${variant}: 95% CI low`, data: series((p) => (p.rel_ci ? p.rel_ci[0] : null)), fill: false },
        { label: variant, data: series((p) => p.rel_lift), borderColor: colour, backgroundColor: colour,
          borderWidth: 2, pointRadius: 2, fill: false },
      ];
    });
    return new Chart(canvas, {
      type: "line",
      data: { labels: dates, datasets },
      options: {
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { grace: "5%", ticks: { callback: (value) => signed(value) },
               title: { display: true, text: "Relative lift" } },
          x: { ticks: { maxRotation: 0, autoSkip: true } },
        },
        plugins: {
          zeroLine: { axis: "y" },
          legend: { position: "bottom", labels: { filter: (item, chart) => !chart.datasets[item.datasetIndex].isBand } },
          tooltip: {
            filter: (item) => !item.dataset.isBand,
            callbacks: { label: (item) => `${item.dataset.label}: ${item.raw === null ? "—" : signed(item.raw)}` },
          },
        },
      },
      plugins: [zeroLine],
    });
  }

  const forest = document.getElementById("forest-chart");
  if (forest && data.comparisons && data.comparisons.length) {
    forest.parentElement.style.height = `${70 + 44 * data.comparisons.length}px`; // a row per comparison
    drawForest(forest, data.comparisons);
  }
  document.querySelectorAll("canvas.timeline-chart").forEach((canvas) => {
    const points = (data.timeline || []).filter((p) => p.metric === canvas.dataset.metric);
    if (points.length) drawTimeline(canvas, points);
  });
})();
