// Renders every chart on the page (and in content htmx swaps in) from its embedded Vega-Lite spec.
// Vega evaluates expressions with its interpreter, so the Content-Security-Policy needs no eval.
import { expressionInterpreter } from "./vendor/vega-interpreter.js";

function renderCharts(root) {
  for (const target of root.querySelectorAll("[data-spec]:not([data-rendered])")) {
    const source = target.nextElementSibling;
    if (!source || source.type !== "application/json") continue;
    target.dataset.rendered = "1";
    window.vegaEmbed(target, JSON.parse(source.textContent), {
      actions: false, renderer: "svg", ast: true, expr: expressionInterpreter,
    }).catch((error) => { target.textContent = "chart unavailable: see the table below"; console.error(error); });
  }
}

function start() {
  renderCharts(document);
  document.body.addEventListener("htmx:afterSwap", (event) => renderCharts(event.target));
  const secret = document.querySelector("[data-secret]");
  if (secret) { secret.focus(); secret.select(); }
}

// Module scripts run after deferred classic scripts, so vegaEmbed and htmx are loaded here.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
