// Small SVG plots: a line (CMC curve), paired histograms, a scatter (PCA map).

const NS = "http://www.w3.org/2000/svg";
const W = 360, H = 220, L = 40, R = 10, T = 10, B = 30;

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function frame(xLabel, yLabel) {
  const svg = el("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  svg.append(
    el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#888" }),
    el("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#888" }),
    el("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, xLabel),
    el("text", { x: 10, y: (T + H - B) / 2, transform: `rotate(-90 10 ${(T + H - B) / 2})`, "text-anchor": "middle" }, yLabel),
  );
  return svg;
}

const sx = (v, max) => L + (v / max) * (W - L - R);
const sy = (v, max) => H - B - (v / max) * (H - T - B);

/** cmc[k-1] for k = 1..K. */
export function cmcCurve(cmc) {
  const svg = frame("k", "CMC@k");
  const K = cmc.length;
  const pts = cmc.map((v, i) => `${sx(K === 1 ? 0 : i, Math.max(K - 1, 1))},${sy(v, 1)}`).join(" ");
  svg.append(el("polyline", { points: pts, fill: "none", stroke: "#1e5ae6", "stroke-width": 2 }));
  for (const v of [0, 0.5, 1]) svg.append(el("text", { x: L - 4, y: sy(v, 1) + 3, "text-anchor": "end" }, v));
  svg.append(el("text", { x: sx(0, 1), y: H - B + 12, "text-anchor": "middle" }, 1));
  svg.append(el("text", { x: W - R, y: H - B + 12, "text-anchor": "end" }, K));
  return svg;
}

/** Positive and negative counts over the same bins, each normalised to its total. */
export function histograms({ edges, positive, negative }) {
  const svg = frame("distance", "share of pairs");
  const share = (c) => { const t = c.reduce((a, b) => a + b, 0) || 1; return c.map((v) => v / t); };
  const [p, n] = [share(positive), share(negative)];
  const top = Math.max(...p, ...n, 1e-9);
  const bins = p.length, bw = (W - L - R) / bins;
  for (const [values, colour] of [[n, "rgba(220,40,40,0.5)"], [p, "rgba(20,170,60,0.5)"]]) {
    values.forEach((v, i) => svg.append(el("rect", {
      x: L + i * bw, y: sy(v, top), width: Math.max(bw - 1, 1), height: H - B - sy(v, top), fill: colour,
    })));
  }
  svg.append(el("text", { x: L, y: H - B + 12 }, edges[0].toFixed(2)));
  svg.append(el("text", { x: W - R, y: H - B + 12, "text-anchor": "end" }, edges[edges.length - 1].toFixed(2)));
  svg.append(el("text", { x: W - R, y: T + 10, "text-anchor": "end", fill: "rgb(20,170,60)" }, "positive"));
  svg.append(el("text", { x: W - R, y: T + 22, "text-anchor": "end", fill: "rgb(220,40,40)" }, "negative"));
  return svg;
}

/** xy: Float32Array of n (x, y); colours: one CSS colour per point; titles: tooltips. */
export function scatter(xy, colours, titles, onClick) {
  const svg = el("svg", { width: 2 * W, height: 2 * H, viewBox: `0 0 ${2 * W} ${2 * H}` });
  const n = xy.length / 2;
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, xy[2 * i]); x1 = Math.max(x1, xy[2 * i]);
    y0 = Math.min(y0, xy[2 * i + 1]); y1 = Math.max(y1, xy[2 * i + 1]);
  }
  const fx = (v) => 10 + ((v - x0) / (x1 - x0 || 1)) * (2 * W - 20);
  const fy = (v) => 2 * H - 10 - ((v - y0) / (y1 - y0 || 1)) * (2 * H - 20);
  for (let i = 0; i < n; i++) {
    const c = el("circle", { cx: fx(xy[2 * i]), cy: fy(xy[2 * i + 1]), r: 4, fill: colours[i], "fill-opacity": 0.8 });
    c.append(el("title", {}, titles[i]));
    if (onClick) c.addEventListener("click", () => onClick(i));
    svg.append(c);
  }
  return svg;
}

/** A stable colour per label. */
export function labelColour(label) {
  if (label === undefined || label === null) return "#999";
  let h = 0;
  for (const ch of String(label)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360} 70% 45%)`;
}
