// A debugger as a test needs one: node --experimental-websocket cdp-paused.mjs WS_URL
// attaches over the Chrome DevTools Protocol, lets the program run, and at
// the first pause prints the paused frame (function, script, and its place
// in the original source through the script's source map) as JSON, resumes
// and leaves.
import { SourceMap } from "node:module";
const ws = new WebSocket(process.argv[2]);
let id = 0; const pending = new Map(); const scripts = new Map();
const send = (method, params = {}) => new Promise((res) => { const i = ++id; pending.set(i, res); ws.send(JSON.stringify({ id: i, method, params })); });
ws.onmessage = async (ev) => {
  const m = JSON.parse(ev.data);
  if (m.id && pending.has(m.id)) { pending.get(m.id)(m.result ?? m.error); pending.delete(m.id); return; }
  if (m.method === "Debugger.scriptParsed") scripts.set(m.params.scriptId, m.params);
  if (m.method === "Debugger.paused") {
    const f = m.params.callFrames[0];
    const s = scripts.get(f.location.scriptId);
    let mapped = null;
    if (s?.sourceMapURL?.startsWith("data:")) {
      const json = JSON.parse(Buffer.from(s.sourceMapURL.split(",")[1], "base64").toString());
      const e = new SourceMap(json).findEntry(f.location.lineNumber, f.location.columnNumber);
      mapped = { source: e.originalSource, line: e.originalLine + 1, content: json.sourcesContent?.[json.sources.indexOf(e.originalSource)] ?? null };
    }
    console.log(JSON.stringify({ functionName: f.functionName, url: s?.url, mapped, reason: m.params.reason }));
    await send("Debugger.resume");
    ws.close();
  }
};
ws.onopen = async () => { await send("Debugger.enable"); await send("Runtime.runIfWaitingForDebugger"); };
