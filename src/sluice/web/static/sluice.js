// Sluice web page: reads and drives the REST API; holds no state of its own.
"use strict";
const API = "/v3/dataflow/flow";
let current = null;
let timer = null;

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "Blueking-Language": "en" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const envelope = await response.json();
  if (!envelope.result) throw new Error(`${envelope.code}: ${envelope.message}`);
  return envelope.data;
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

async function loadFlows() {
  const flows = await call("GET", `${API}/flows/?ordering=flow_id`);
  const body = document.querySelector("#flows tbody");
  body.replaceChildren();
  for (const flow of flows) {
    const row = body.insertRow();
    row.dataset.flowId = flow.flow_id;
    cell(row, flow.flow_id);
    cell(row, flow.flow_name);
    cell(row, flow.status, `status status-${flow.status}`);
    cell(row, flow.updated_at);
    row.addEventListener("click", () => showFlow(flow.flow_id));
  }
  document.getElementById("flows-empty").hidden = flows.length > 0;
}

async function showFlow(flowId) {
  current = flowId;
  history.replaceState(null, "", `#flow=${flowId}`);
  document.getElementById("flow-panel").hidden = false;
  await refreshFlow();
  clearInterval(timer);
  timer = setInterval(() => refreshFlow().catch(showError), 3000);
}

async function refreshFlow() {
  if (current === null) return;
  const [flow, graph, deploy, monitor] = await Promise.all([
    call("GET", `${API}/flows/${current}/`),
    call("GET", `${API}/flows/${current}/graph/`),
    call("GET", `${API}/flows/${current}/latest_deploy_data/`),
    call("GET", `${API}/flows/${current}/monitor_data/`).catch(() => ({ data_loss_io_total: {} })),
  ]);
  document.getElementById("flow-title").textContent = `${flow.flow_name} (#${flow.flow_id}) — ${flow.status}`;
  const body = document.querySelector("#nodes tbody");
  body.replaceChildren();
  const tables = new Set();
  for (const node of graph.nodes) {
    const row = body.insertRow();
    const io = monitor.data_loss_io_total[String(node.node_id)] || {};
    cell(row, node.node_id);
    cell(row, node.node_name);
    cell(row, node.node_type);
    cell(row, node.status, `status status-${node.status}`);
    cell(row, node.result_table_ids.join(", "));
    cell(row, io.input ?? "");
    cell(row, io.output ?? "");
    node.result_table_ids.forEach((rt) => tables.add(rt));
  }
  const select = document.getElementById("tables");
  const chosen = select.value;
  select.replaceChildren(...[...tables].map((rt) => new Option(rt, rt)));
  if (tables.has(chosen)) select.value = chosen;
  document.getElementById("deploy").textContent = deploy
    ? `${deploy.action} ${deploy.status} ${deploy.progress}%\n` +
      deploy.logs.map((l) => `${l.time} ${l.level.padEnd(7)} ${l.message}`).join("\n")
    : "none";
  await refreshTail();
}

async function refreshTail() {
  const rt = document.getElementById("tables").value;
  if (!rt) return;
  try {
    const data = await call("GET", `/v3/sluice/result_tables/${rt}/tail/?n=10`);
    document.getElementById("tail").textContent = JSON.stringify(data, null, 2);
  } catch (error) {
    document.getElementById("tail").textContent = `no data yet (${error.message})`;
  }
}

function showError(error) {
  const out = document.getElementById("action-result");
  out.textContent = error.message;
  out.className = "error";
}

document.querySelectorAll("[data-action]").forEach((button) =>
  button.addEventListener("click", async () => {
    const out = document.getElementById("action-result");
    try {
      const data = await call("POST", `${API}/flows/${current}/${button.dataset.action}/`, {});
      out.textContent = `task ${data.task_id} submitted`;
      out.className = "";
      await refreshFlow();
    } catch (error) {
      showError(error);
    }
  }),
);
document.getElementById("tables").addEventListener("change", () => refreshTail().catch(showError));
document.getElementById("refresh").addEventListener("click", () => loadFlows().catch(showError));
loadFlows().catch(showError);
const linked = /^#flow=(\d+)$/.exec(location.hash);
if (linked) showFlow(Number(linked[1])).catch(showError);
